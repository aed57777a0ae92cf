using LmExplore.Runs;
using System.Diagnostics;
using System.Globalization;
using LmExplore.Algorithms;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Text;

/// <summary>
/// Runs one algorithm on a text task with a language model and a verifier (<c>run --task</c>, or a sweep whose instance
/// is <c>text:TASK</c>), then evaluates the output by Monte Carlo: K prompts x ~ ρ, one draw of the output sampler each,
/// exactly as a user would draw it, scored by verifier calls that are <b>not</b> charged to the run (a separate meter and,
/// for a command, a separate verifier process). Reported: the pass rate with a 95 % Wilson interval, the mean reward,
/// and the same for π_ref on the same prompts. J_β and the suboptimality are not available (r* is unknown) and are null.
/// Parameters (instance params, <c>--param k=v</c>): see <see cref="Keys"/> and docs/LANGUAGE-MODELS.md.
/// </summary>
public static class TextRunner
{
    /// <summary>The prefix that marks a text task in <see cref="RunRequest.Instance"/>.</summary>
    public const string Prefix = "text:";
    /// <summary>Default β for text tasks.</summary>
    public const double DefaultBeta = 0.05;
    /// <summary>Default token limit per response.</summary>
    public const int DefaultMaxTokens = 8;
    /// <summary>Default evaluation draws.</summary>
    public const int DefaultEvalSamples = 200;

    /// <summary>Parameter keys a text run accepts.</summary>
    public static IReadOnlyList<string> Keys { get; } =
        ["model", "verifier", "eval-verifier", "beta", "dim", "hash-n", "features", "feature-command", "max-tokens", "eval-samples", "verifier-timeout", "verifier-retries", "pass-threshold", "reward"];

    /// <summary>Whether <paramref name="request"/> is a text run.</summary>
    public static bool Handles(RunRequest request) => request.Instance.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Runs the request (see the class summary). Verifier faults become <see cref="InputException"/>s with the verifier's message.</summary>
    public static RunResult Run(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var p = request.InstanceParams;
        foreach (var key in p.Keys)
            if (!Keys.Contains(key) && key != "seed")
                throw new InputException($"unknown text-task parameter '{key}' (known: {string.Join(", ", Keys)})");
        double beta = Real(p, "beta", DefaultBeta, 1e-4, 1e3);
        double threshold = Real(p, "pass-threshold", 1, -1e9, 1e9);
        int maxTokens = (int)Real(p, "max-tokens", DefaultMaxTokens, 1, 4096);
        int evalSamples = (int)Real(p, "eval-samples", DefaultEvalSamples, 0, 1e7);
        int dim = (int)Real(p, "dim", HashedNGramFeatures.DefaultDimension, 1, 1 << 20);
        int hashN = (int)Real(p, "hash-n", HashedNGramFeatures.DefaultN, 1, 5);
        var timeout = TimeSpan.FromSeconds(Real(p, "verifier-timeout", CommandVerifier.DefaultTimeout.TotalSeconds, 0.001, 3600));
        int retries = (int)Real(p, "verifier-retries", CommandVerifier.DefaultRetries, 0, 100);
        if (request.BudgetComp is < 0 || request.BudgetData is < 0 || request.BudgetTokens is < 0) throw new InputException("budgets must be ≥ 0");

        string rewardKind = p.GetValueOrDefault("reward") ?? "fraction";
        if (rewardKind is not ("fraction" or "binary")) throw new InputException($"text-task parameter reward={rewardKind}: expected fraction or binary");
        var task = TextTask.Resolve(request.Instance[Prefix.Length..], threshold, rewardKind == "binary");
        string name = request.Algorithm.Trim().ToLowerInvariant();
        if (name != BestOfN.AlgorithmName && !AlgorithmCatalog.Implemented.Contains(name))
            throw new InputException($"unknown algorithm '{request.Algorithm}' for a text task (known: spanner, passive, onlinedpo, xpo, {BestOfN.AlgorithmName})");
        var algorithm = name == BestOfN.AlgorithmName
            ? new BestOfN(request.AlgoParams)
            : AlgorithmCatalog.Create(request.Algorithm, request.AlgoParams);

        using var model = LoadModel(p.GetValueOrDefault("model"), task);
        string featureKind = p.GetValueOrDefault("features") ?? "hashed";
        ITextFeatures features = featureKind switch
        {
            "hashed" => new HashedNGramFeatures(dim, hashN),
            "embeddings" => new EmbeddingFeatures(model.RequireEmbedder("features=embeddings")),
            "command" => new CommandFeatures(p.GetValueOrDefault("feature-command") ?? throw new InputException("features=command needs --param feature-command=\"COMMAND\""),
                dim, timeout, retries),
            _ => throw new InputException($"unknown features '{featureKind}' (known: hashed, embeddings, command)"),
        };
        if (featureKind != "command" && p.ContainsKey("feature-command")) throw new InputException("feature-command needs --param features=command");
        using var featureProcess = features as IDisposable;
        string? command = p.GetValueOrDefault("verifier");
        string? evalCommand = p.GetValueOrDefault("eval-verifier");
        if (command is null && task.BuiltinChecker is null)
            throw new InputException($"task '{task.Name}' has no built-in checker: give --verifier \"COMMAND\"");
        using var verifier = command is null ? task.BuiltinChecker!() : new CommandVerifier(command, timeout, retries);
        using var evalVerifier = evalCommand is not null ? new CommandVerifier(evalCommand, timeout, retries)
            : command is null ? task.BuiltinChecker!() : new CommandVerifier(command, timeout, retries);

        var store = new TextResponses(task, model, features, beta, maxTokens);
        var meter = new Meter(request.BudgetData, request.BudgetComp, request.BudgetTokens);
        var environment = new TextEnvironment(store, meter, verifier);
        var root = new Rng(request.Seed);
        AlgorithmOutput output;
        try
        {
            output = algorithm.Run(environment, root.Split(RunStreams.Algorithm), progress, cancellationToken);
        }
        catch (VerifierException e)
        {
            throw new InputException(e.Message + $" [T_data = {meter.TData}]");
        }
        long tokensRun = store.TokensGenerated;

        // ---- Evaluation: uncharged, separate meter and verifier ----
        var evalMeter = new Meter();
        var evalEnv = new TextEnvironment(store, evalMeter, evalVerifier);
        var rng = root.Split("evaluation");
        int pass = 0, refPass = 0;
        double rewardSum = 0, rewardSq = 0, refRewardSum = 0;
        long outputCalls = 0;
        try
        {
            for (int i = 0; i < evalSamples; i++)
            {
                if ((i & 0xF) == 0) cancellationToken.ThrowIfCancellationRequested();
                var x = evalEnv.DrawPrompt(rng);
                var draw = output.Policy.Sample(evalEnv, x, rng);
                outputCalls += draw.OracleCalls;
                double r = evalEnv.Query(draw.Response);
                rewardSum += r;
                rewardSq += r * r;
                if (r >= threshold - 1e-12) pass++;
                double rr = evalEnv.Query(evalEnv.Sample(x, rng));
                refRewardSum += rr;
                if (rr >= threshold - 1e-12) refPass++;
            }
        }
        catch (VerifierException e)
        {
            throw new InputException("evaluation: " + e.Message);
        }
        double passRate = evalSamples > 0 ? (double)pass / evalSamples : double.NaN;
        var (lo, hi) = Wilson(pass, evalSamples);
        var (refLo, refHi) = Wilson(refPass, evalSamples);
        double meanReward = evalSamples > 0 ? rewardSum / evalSamples : double.NaN;
        // Best-of-N's output is one fixed answer per prompt: its pass rate is exact, Σ_x ρ(x)·1[r(x, answer_x) passes],
        // from one uncharged verifier call per prompt (exact given the verifier's replies).
        bool exactOutput = false;
        if (evalSamples > 0 && output.Policy is BestOfNPolicy bestOfN && bestOfN.Answers.All(a => a is not null))
        {
            double exactPass = 0, exactReward = 0;
            try
            {
                for (int i = 0; i < bestOfN.Answers.Count; i++)
                {
                    double r = evalEnv.Query(bestOfN.Answers[i]!.Value);
                    exactReward += task.Prompts[i].Weight * r;
                    if (r >= threshold - 1e-12) exactPass += task.Prompts[i].Weight;
                }
            }
            catch (VerifierException e)
            {
                throw new InputException("evaluation: " + e.Message);
            }
            (passRate, lo, hi, meanReward, exactOutput) = (exactPass, exactPass, exactPass, exactReward, true);
        }

        var diagnostics = new Dictionary<string, double>(output.Diagnostics, StringComparer.Ordinal)
        {
            ["pass_rate"] = passRate,
            ["pass_rate_ci_low"] = lo,
            ["pass_rate_ci_high"] = hi,
            ["ref_pass_rate"] = evalSamples > 0 ? (double)refPass / evalSamples : double.NaN,
            ["ref_pass_rate_ci_low"] = refLo,
            ["ref_pass_rate_ci_high"] = refHi,
            ["ref_expected_reward"] = evalSamples > 0 ? refRewardSum / evalSamples : double.NaN,
            ["eval_samples"] = evalSamples,
            ["verifier_calls_eval"] = evalMeter.TData,
            ["verifier_answered"] = verifier.Answered,
            ["verifier_restarts"] = verifier.Restarts,
            ["tokens_generated"] = tokensRun,
            ["distinct_responses"] = store.Count,
            ["prompts"] = task.Prompts.Count,
            ["pass_threshold"] = threshold,
            ["realizable"] = 0, // rewards are not exactly linear in the features: realizability is approximate
        };
        // Exact where the model and reward allow it: π_ref's pass rate on letters with a character-level n-gram model.
        if (task.Name == LettersTask.Name && task.PassThreshold >= 1 && model is NGramModel { Level: NGramLevel.Char } && command is null && maxTokens <= 16)
            diagnostics["ref_pass_rate_exact"] = LettersTask.ExactReferencePassRate(task, model, maxTokens);
        return new RunResult(
            Instance: Prefix + task.Name, Algorithm: algorithm.Name, Seed: request.Seed, Beta: beta, D: features.Dimension,
            Status: output.Status == RunStatus.Ok ? "ok" : "budget_exhausted",
            TData: meter.TData, TComp: meter.TComp, TTokens: meter.TTokens,
            JOpt: double.NaN, JRef: double.NaN, JOut: double.NaN, Suboptimality: double.NaN,
            SuboptimalityCiLow: null, SuboptimalityCiHigh: null, SuboptimalityTarget: double.NaN,
            ExpectedRewardOut: meanReward, Epsilon: algorithm.Target.Epsilon, ReachedEpsilon: false, Evaluation: exactOutput ? "exact" : "monte_carlo",
            OutputSampleCost: evalSamples > 0 ? (double)outputCalls / evalSamples : double.NaN,
            CCov: double.NaN, CCond: null, WallSeconds: clock.Elapsed.TotalSeconds, Diagnostics: diagnostics);
    }

    /// <summary>Opens a model: a <c>.gguf</c> file through LLamaSharp, any other file as an n-gram model, none: the task's built-in one.</summary>
    public static ILanguageModel LoadModel(string? path, TextTask task)
    {
        if (path is null)
            return task.BuiltinModel?.Invoke() ?? throw new InputException($"task '{task.Name}' has no built-in model: give --model FILE (.gguf or an n-gram model from 'lm train')");
        return ModelCatalog.Open(path);
    }

    /// <summary>The 95 % Wilson score interval of k successes in n trials (NaN for n = 0).</summary>
    public static (double Low, double High) Wilson(int k, int n)
    {
        if (n == 0) return (double.NaN, double.NaN);
        const double z = 1.959963984540054;
        double ph = (double)k / n, z2 = z * z;
        double centre = (ph + z2 / (2 * n)) / (1 + z2 / n);
        double half = z * Math.Sqrt(ph * (1 - ph) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    private static double Real(IReadOnlyDictionary<string, string> p, string key, double fallback, double min, double max)
    {
        if (!p.TryGetValue(key, out var s)) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < min || v > max)
            throw new InputException($"text-task parameter {key}={s}: expected a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]");
        return v;
    }
}
