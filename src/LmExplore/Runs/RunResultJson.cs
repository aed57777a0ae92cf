using System.Text;
using System.Text.Json;
using LmExplore.Evaluation;

namespace LmExplore.Runs;

/// <summary>
/// The one JSON shape of a run result (docs/CLI.md), shared by <c>run --json</c>, <c>--out</c> JSON lines
/// and sweeps. Property order is fixed; doubles round-trip exactly; non-finite numbers become null.
/// </summary>
public static class RunResultJson
{
    /// <summary>Writes the result as one JSON object on a single line (no trailing newline).</summary>
    public static string Serialize(RunResult r, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
            Write(w, r);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes the result object with a writer (callers may add it to a larger document).</summary>
    public static void Write(Utf8JsonWriter w, RunResult r)
    {
        w.WriteStartObject();
        w.WriteString("instance", r.Instance);
        w.WriteString("algorithm", r.Algorithm);
        w.WriteNumber("seed", r.Seed);
        Number(w, "beta", r.Beta);
        w.WriteNumber("d", r.D);
        w.WriteString("status", r.Status);
        w.WriteNumber("T_data", r.TData);
        w.WriteNumber("T_comp", r.TComp);
        w.WriteNumber("T_tokens", r.TTokens);
        Number(w, "J_opt", r.JOpt);
        Number(w, "J_ref", r.JRef);
        Number(w, "J_out", r.JOut);
        Number(w, "suboptimality", r.Suboptimality);
        if (r.SuboptimalityCiLow is double lo && r.SuboptimalityCiHigh is double hi)
        {
            w.WriteStartArray("suboptimality_ci");
            w.WriteNumberValue(lo);
            w.WriteNumberValue(hi);
            w.WriteEndArray();
        }
        else w.WriteNull("suboptimality_ci");
        Number(w, "suboptimality_target", r.SuboptimalityTarget);
        Number(w, "expected_reward_out", r.ExpectedRewardOut);
        Number(w, "epsilon", r.Epsilon);
        w.WriteBoolean("reached_epsilon", r.ReachedEpsilon);
        w.WriteString("evaluation", r.Evaluation.JsonName());
        Number(w, "output_sample_cost", r.OutputSampleCost);
        Number(w, "C_cov", r.CCov);
        if (r.CCond is double c) Number(w, "C_cond", c); else w.WriteNull("C_cond");
        Number(w, "wall_seconds", r.WallSeconds);
        w.WriteStartObject("diagnostics");
        foreach (var (key, value) in r.Diagnostics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Number(w, key, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Parses a result written by <see cref="Serialize"/>. Throws <see cref="JsonException"/> or <see cref="KeyNotFoundException"/> if malformed.</summary>
    public static RunResult Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var o = doc.RootElement;
        var diagnostics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (o.TryGetProperty("diagnostics", out var diag))
            foreach (var p in diag.EnumerateObject()) diagnostics[p.Name] = Read(p.Value);
        var ci = o.GetProperty("suboptimality_ci");
        return new RunResult(
            new RunIdentity(o.GetProperty("instance").GetString()!, o.GetProperty("algorithm").GetString()!,
                o.GetProperty("seed").GetUInt64(), Read(o.GetProperty("epsilon"))),
            o.GetProperty("status").GetString()!,
            new ProblemValues(Read(o.GetProperty("beta")), o.GetProperty("d").GetInt32(), Read(o.GetProperty("J_opt")),
                Read(o.GetProperty("J_ref")), Read(o.GetProperty("C_cov")),
                o.GetProperty("C_cond").ValueKind == JsonValueKind.Null ? null : o.GetProperty("C_cond").GetDouble()),
            new RunCosts(o.GetProperty("T_data").GetInt64(), o.GetProperty("T_comp").GetInt64(), o.GetProperty("T_tokens").GetInt64()),
            new RunEvaluation(EvaluationKinds.Parse(o.GetProperty("evaluation").GetString()!), Read(o.GetProperty("J_out")),
                Read(o.GetProperty("suboptimality")),
                ci.ValueKind == JsonValueKind.Array ? ci[0].GetDouble() : null,
                ci.ValueKind == JsonValueKind.Array ? ci[1].GetDouble() : null,
                Read(o.GetProperty("suboptimality_target")), Read(o.GetProperty("expected_reward_out")),
                o.GetProperty("reached_epsilon").GetBoolean(), Read(o.GetProperty("output_sample_cost"))),
            Read(o.GetProperty("wall_seconds")),
            diagnostics);
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    private static double Read(JsonElement e) => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble();
}
