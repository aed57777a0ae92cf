using LmExplore.Runs;
using System.Globalization;
using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;
using LmExplore.Numerics;

namespace LmExplore.Tests.Support;

/// <summary>A cheap, deterministic stand-in for Runner.Run with the scaling laws of the paper built in.</summary>
internal static class Fakes
{
    /// <summary>
    /// Result depends only on the request (as Runner.Run's does): "spanner" needs ≈ 40·C_cov samples and
    /// ≈ 170 rewards; "passive" needs ≈ 20·C_cov rewards (one pair per two samples of its compute budget).
    /// Success ⇒ suboptimality 1e-3, else 0.3.
    /// </summary>
    public static RunResult Run(RunRequest r, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (r.Instance == "chain") return RunChain(r);
        var rng = new Rng(r.Seed);
        if (r.Instance.StartsWith("text:", StringComparison.Ordinal)) return TextRun(r, rng);
        double ccov = r.InstanceParams.TryGetValue("ccov", out var c) ? double.Parse(c, CultureInfo.InvariantCulture) : 10;
        double jitter = 0.8 + 0.4 * rng.NextDouble();
        long tComp, tData;
        bool ok;
        if (r.Algorithm == "passive")
        {
            long dataNeed = (long)(20 * ccov * jitter);
            tData = Math.Min(r.BudgetData ?? long.MaxValue, r.BudgetComp ?? long.MaxValue);
            if (tData == long.MaxValue) tData = 1000;
            tComp = tData;
            ok = tData >= dataNeed;
        }
        else
        {
            // The other methods: spanner-like, except what E3 is about — optimistic XPO samples a policy whose coverage is
            // 2ⁿ (dnf), OptimalDesign enumerates 2ⁿ responses, OnlineDPO's data grows like C_cov.
            double n = r.InstanceParams.TryGetValue("n", out var ns) ? double.Parse(ns, CultureInfo.InvariantCulture) : 0;
            double alpha = r.AlgoParams.TryGetValue("alpha", out var a) ? double.Parse(a, CultureInfo.InvariantCulture) : 0.1;
            long compNeed = (long)(40 * ccov * jitter);
            long dataNeed = 150 + rng.NextInt(40);
            if (r.Algorithm == "xpo" && alpha >= 0.3) compNeed = (long)(240 * Math.Pow(2, n) * jitter);
            if (r.Algorithm == "optimaldesign") { compNeed = (long)Math.Pow(2, n) + 1; dataNeed = 60; }
            if (r.Algorithm == "onlinedpo") dataNeed = (long)(20 * ccov * jitter);
            tComp = Math.Min(compNeed, r.BudgetComp ?? long.MaxValue);
            tData = Math.Min(dataNeed, r.BudgetData ?? long.MaxValue);
            ok = tComp >= compNeed && tData >= dataNeed;
        }
        double sub = ok ? 1e-3 : 0.3;
        return TestResults.Flat("needle(fake)", r.Algorithm, r.Seed, 0.1, 4, ok ? "ok" : "budget_exhausted", tData, tComp, 0,
            1.0, 0.2, 1.0 - sub, sub, null, null, sub, 0.9, 0.01, ok, "exact", 2.5, ccov, null, 0.001 * rng.NextDouble(),
            new Dictionary<string, double> { ["jitter"] = jitter });
    }

    /// <summary>A text-task run (E6) with built-in laws: best-of-N passes 1 − 0.96^N, the learners min(0.97, T_data/300) (spanner)
    /// and min(0.97, T_data/150) (passive).</summary>
    private static RunResult TextRun(RunRequest r, Rng rng)
    {
        long n = r.AlgoParams.TryGetValue("n", out var ns) ? long.Parse(ns, CultureInfo.InvariantCulture) : 16;
        long tData = r.Algorithm == "bestofn" ? 15 * n : r.BudgetData ?? 100;
        double pass = r.Algorithm switch
        {
            "bestofn" => 1 - Math.Pow(0.96, n),
            "spanner" => Math.Min(0.97, tData / 300.0),
            _ => Math.Min(0.97, tData / 150.0),
        };
        return TestResults.Flat(r.Instance, r.Algorithm, r.Seed, 0.05, 128, "ok", tData, tData * 10, 0, double.NaN, double.NaN, double.NaN, double.NaN,
            null, null, double.NaN, pass, 0.01, false, "monte_carlo", 1, double.NaN, null, 0.001 * rng.NextDouble(),
            new Dictionary<string, double> { ["pass_rate"] = pass, ["pass_rate_ci_low"] = pass * 0.9, ["pass_rate_ci_high"] = Math.Min(1, pass * 1.1), ["ref_pass_rate"] = 0.04, ["eval_samples"] = 150 });
    }

    /// <summary>E4's laws on <c>chain</c>: C_cov = 2.75^H; MTSS needs ≈ 40·H³ tokens and 10·H² rewards; sequence-level
    /// SpannerSampling ≈ 4·C_cov samples (H tokens each) and 40 rewards.</summary>
    private static RunResult RunChain(RunRequest r)
    {
        var rng = new Rng(r.Seed);
        int h = int.Parse(r.InstanceParams["horizon"], CultureInfo.InvariantCulture);
        double ccov = Math.Pow(2.75, h), jitter = 0.8 + 0.4 * rng.NextDouble();
        long tTokens, tComp, tData;
        bool ok;
        if (r.Algorithm == "mtss")
        {
            long tokenNeed = (long)(40 * Math.Pow(h, 3) * jitter), dataNeed = (long)(10 * h * h * jitter);
            tTokens = Math.Min(tokenNeed, r.BudgetTokens ?? long.MaxValue);
            tData = Math.Min(dataNeed, r.BudgetData ?? long.MaxValue);
            tComp = 0;
            ok = tTokens >= tokenNeed && tData >= dataNeed;
        }
        else
        {
            long compNeed = (long)(4 * ccov * jitter), dataNeed = 40;
            tComp = Math.Min(compNeed, Math.Min(r.BudgetComp ?? long.MaxValue, (r.BudgetTokens ?? long.MaxValue) / h));
            tData = Math.Min(dataNeed, r.BudgetData ?? long.MaxValue);
            tTokens = tComp * h;
            ok = tComp >= compNeed && tData >= dataNeed;
        }
        double sub = ok ? 1e-3 : 0.3;
        return TestResults.Flat("chain(fake)", r.Algorithm, r.Seed, 0.2, 2, ok ? "ok" : "budget_exhausted", tData, tComp, tTokens,
            1.0, 0.2, 1.0 - sub, sub, null, null, sub, 0.9, 0.01, ok, "exact", 2.5, ccov, 2.75, 0.001 * rng.NextDouble(),
            new Dictionary<string, double> { ["jitter"] = jitter });
    }

    /// <summary>A small sweep config (2 C_cov × (spanner + passive with a 3-point data grid) × seeds).</summary>
    public static string Config(int seeds = 4, ulong sweepSeed = 7, string name = "fake") => $$"""
        {
          "format": "lmexplore.sweep/v1", "name": "{{name}}", "sweepSeed": {{sweepSeed}},
          "instance": "needle",
          "instanceParams": { "R": 1.5, "beta": 0.1 },
          "grid": { "ccov": [10, 100] },
          "algorithms": [
            { "name": "spanner", "params": { "epsilon": 0.01 }, "budgetComp": { "times": 2000, "of": "ccov" } },
            { "name": "passive", "vars": { "f": [5, 20, 80] }, "budgetData": { "times": 1, "of": ["ccov", "f"] } }
          ],
          "seeds": {{seeds}}
        }
        """;

    public static SweepPlan Plan(int seeds = 4, ulong sweepSeed = 7) => SweepPlan.Create(SweepConfig.Parse(Config(seeds, sweepSeed)));

    /// <summary>A fresh temporary directory under this test process's own root, which is removed when the process exits.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(ProcessTempRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static readonly Lazy<string> ProcessTempRoot = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "lmexplore-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return root;
    });

    /// <summary>Records as comparable text: key → result JSON with wall time zeroed, sorted by key.</summary>
    public static List<string> Canonical(IEnumerable<SweepRecord> records) =>
        records.OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => r.Key + "\t" + RunResultJson.Serialize(r.Result with { WallSeconds = 0 })).ToList();
}
