using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LmExplore.Instances;

/// <summary>
/// Reads and writes the <c>lmexplore.autoregressive/v1</c> format (docs/FORMATS.md):
/// <code>
/// { "format": "lmexplore.autoregressive/v1", "name": "optional", "beta": 0.1, "horizon": 8, "vocab": 2,
///   "states": 3, "featureDim": 2, "theta": [1.0, 0.0], "noise": { "kind": "none" },
///   "prompts": [ { "weight": 1.0, "initialState": 0 } ],
///   "transition": [[1, 2], ...],  "refProbs": [[0.5, 0.5], ...],  "tokenFeatures": [[[1, 0], [0, 1]], ...] }
/// </code>
/// Validation as for <see cref="InstanceJson"/>: one line naming the JSON path; unknown keys treated as for InstanceJson;
/// <c>noise</c> and <c>name</c> optional. Rewards are Σ_h ⟨θ, ψ⟩; for bernoulli noise every sequence
/// reward must lie in [0,1] (checked by a min/max DP over the horizon).
/// </summary>
public static class AutoregressiveJson
{
    /// <summary>The format tag of this format.</summary>
    public const string Format = "lmexplore.autoregressive/v1";

    private static readonly string[] TopKeys =
        ["format", "name", "beta", "horizon", "vocab", "states", "featureDim", "theta", "noise", "prompts", "transition", "refProbs", "tokenFeatures"];
    private static readonly string[] PromptKeys = ["weight", "initialState"];

    /// <summary>Reads an <c>lmexplore.autoregressive/v1</c> file. Throws <see cref="InputException"/>.</summary>
    public static AutoregressiveInstance Read(string path, bool normalize = false)
    {
        var (input, doc) = JsonInput.Open(path);
        using (doc) return Read(input, doc.RootElement, normalize, Path.GetFileName(path));
    }

    internal static AutoregressiveInstance Read(JsonInput input, JsonElement root, bool normalize, string fallbackName)
    {
        const string R = "$";
        var top = input.Fields(root, R, TopKeys);
        string name = InstanceJson.ReadHeader(input, top, Format, fallbackName);
        double beta = InstanceJson.ReadBeta(input, top);
        int horizon = input.Integer(input.Required(top, R, "horizon"), "$.horizon", 1, 1_000_000);
        int vocab = input.Integer(input.Required(top, R, "vocab"), "$.vocab", 1, 10_000_000);
        int states = input.Integer(input.Required(top, R, "states"), "$.states", 1, 10_000_000);
        int d = input.Integer(input.Required(top, R, "featureDim"), "$.featureDim", 1, 1_000_000);
        if ((long)states * vocab * d > Array.MaxLength) throw input.Fail(R, $"states × vocab × featureDim = {(long)states * vocab * d} is too large");
        var theta = new double[d];
        input.Numbers(input.Required(top, R, "theta"), "$.theta", theta, "featureDim");
        InstanceJson.CheckMagnitudes(input, theta, "$.theta");
        var noise = InstanceJson.ReadNoise(input, top);

        // Prompts.
        var promptsEl = input.Required(top, R, "prompts");
        int promptCount = input.Array(promptsEl, "$.prompts");
        if (promptCount == 0) throw input.Fail("$.prompts", "must contain at least one prompt");
        var weights = new double[promptCount];
        var initial = new int[promptCount];
        int x = 0;
        foreach (var pEl in promptsEl.EnumerateArray())
        {
            string pPath = JsonInput.Index("$.prompts", x);
            var pf = input.Fields(pEl, pPath, PromptKeys);
            var wEl = input.Required(pf, pPath, "weight");
            weights[x] = input.Number(wEl, pPath + ".weight");
            if (!(weights[x] > 0)) throw input.Fail(pPath + ".weight", $"must be > 0 (got {JsonInput.Show(wEl)})");
            var sEl = input.Required(pf, pPath, "initialState");
            initial[x] = input.Integer(sEl, pPath + ".initialState", 0);
            if (initial[x] >= states) throw input.Fail(pPath + ".initialState", $"must be in [0, {states}) since states is {states} (got {JsonInput.Show(sEl)})");
            x++;
        }
        InstanceJson.CheckOrNormalizeSum(input, weights, "$.prompts[*].weight", "prompt weights", normalize);

        // transition[s][a] ∈ [0, states).
        var transition = new int[states * vocab];
        var tEl = input.Required(top, R, "transition");
        Rows(input, tEl, "$.transition", states, "states", (row, rPath, s) =>
        {
            int n = input.Array(row, rPath);
            if (n != vocab) throw input.Fail(rPath, $"has {n} entries, but vocab is {vocab}");
            int a = 0;
            foreach (var item in row.EnumerateArray())
            {
                string iPath = JsonInput.Index(rPath, a);
                int t = input.Integer(item, iPath, 0);
                if (t >= states) throw input.Fail(iPath, $"must be a state in [0, {states}) (got {JsonInput.Show(item)})");
                transition[s * vocab + a++] = t;
            }
        });

        // refProbs[s][a] > 0, each row summing to 1.
        var logRef = new double[states * vocab];
        var pEl2 = input.Required(top, R, "refProbs");
        var rowBuf = new double[vocab];
        Rows(input, pEl2, "$.refProbs", states, "states", (row, rPath, s) =>
        {
            input.Numbers(row, rPath, rowBuf, "vocab");
            for (int a = 0; a < vocab; a++)
                if (!(rowBuf[a] > 0)) throw input.Fail(JsonInput.Index(rPath, a), $"must be > 0 (got {JsonInput.Fmt(rowBuf[a])})");
            InstanceJson.CheckOrNormalizeSum(input, rowBuf, rPath, "probabilities", normalize);
            for (int a = 0; a < vocab; a++) logRef[s * vocab + a] = Math.Log(rowBuf[a]);
        });

        // tokenFeatures[s][a][k].
        var features = new double[states * vocab * d];
        var fEl = input.Required(top, R, "tokenFeatures");
        Rows(input, fEl, "$.tokenFeatures", states, "states", (row, rPath, s) =>
        {
            int n = input.Array(row, rPath);
            if (n != vocab) throw input.Fail(rPath, $"has {n} entries, but vocab is {vocab}");
            int a = 0;
            foreach (var item in row.EnumerateArray())
            {
                input.Numbers(item, JsonInput.Index(rPath, a), features.AsSpan((s * vocab + a) * d, d), "featureDim");
                a++;
            }
        });

        var prompts = new AutoregressivePrompt[promptCount];
        for (x = 0; x < promptCount; x++) prompts[x] = new AutoregressivePrompt(weights[x], initial[x]);
        var inst = new AutoregressiveInstance(name, beta, horizon, vocab, states, theta, noise, prompts, transition, logRef, features);
        CheckRewards(input, inst);
        return inst;
    }

    private static void Rows(JsonInput input, JsonElement el, string path, int expected, string lengthName, Action<JsonElement, string, int> each)
    {
        int n = input.Array(el, path);
        if (n != expected) throw input.Fail(path, $"has {n} rows, but {lengthName} is {expected}");
        int i = 0;
        foreach (var row in el.EnumerateArray()) { each(row, JsonInput.Index(path, i), i); i++; }
    }

    private static void CheckRewards(JsonInput input, AutoregressiveInstance inst)
    {
        int tooLarge = InstanceLimits.FirstTooLarge(inst.TokenFeatures);
        if (tooLarge >= 0)
            throw input.Fail($"$.tokenFeatures[{tooLarge / inst.Dimension / inst.Vocab}][{tooLarge / inst.Dimension % inst.Vocab}][{tooLarge % inst.Dimension}]",
                InstanceLimits.MagnitudeProblem(inst.TokenFeatures[tooLarge]));
        // A sequence reward sums H token rewards: the limit applies to H times the token scale.
        int bad = InstanceLimits.FirstRewardTooLarge(inst.TokenFeatures, inst.Theta, inst.Beta / inst.Horizon, out double scale);
        if (bad >= 0)
            throw input.Fail($"$.tokenFeatures[{bad / inst.Vocab}][{bad % inst.Vocab}]",
                $"horizon × {InstanceLimits.RewardProblem(scale, inst.Beta)}");
        var r = inst.TokenRewards;
        for (int i = 0; i < r.Length; i++)
        {
            // The sequence reward sums H token rewards; keep H·|r|/β finite so log-space DP never overflows.
            if (!double.IsFinite(r[i] * inst.Horizon / inst.Beta))
                throw input.Fail($"$.tokenFeatures[{i / inst.Vocab}][{i % inst.Vocab}]",
                    $"token reward ⟨theta, features⟩ = {JsonInput.Fmt(r[i])} is too large for beta = {JsonInput.Fmt(inst.Beta)} and horizon = {inst.Horizon}");
        }
        if (inst.Noise.Kind != NoiseKind.Bernoulli) return;
        var (min, max) = inst.RewardRange();
        if (min < 0 || max > 1)
            throw input.Fail("$.noise.kind", $"'bernoulli' needs every sequence reward in [0,1], but they range over [{JsonInput.Fmt(min)}, {JsonInput.Fmt(max)}]");
    }

    /// <summary>Writes the instance atomically (temp file + rename). refProbs are written as exp(log π_ref),
    /// shortest round-trip, so a round trip reproduces them to the last bit whenever exp∘log does.</summary>
    public static void Write(AutoregressiveInstance inst, string path)
    {
        var sb = new StringBuilder();
        string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        sb.Append("{ \"format\": \"").Append(Format).Append("\",\n  \"name\": ").Append(JsonSerializer.Serialize(inst.Name))
          .Append(",\n  \"beta\": ").Append(D(inst.Beta)).Append(", \"horizon\": ").Append(inst.Horizon).Append(", \"vocab\": ").Append(inst.Vocab)
          .Append(", \"states\": ").Append(inst.States).Append(", \"featureDim\": ").Append(inst.Dimension)
          .Append(",\n  \"theta\": [").AppendJoin(", ", inst.Theta.Select(D)).Append(']')
          .Append(",\n  \"noise\": { \"kind\": \"").Append(inst.Noise.Name).Append('"');
        if (inst.Noise.Kind == NoiseKind.Gaussian) sb.Append(", \"sigma\": ").Append(D(inst.Noise.Sigma));
        sb.Append(" },\n  \"prompts\": [").AppendJoin(", ", inst.Prompts.Select(p => $"{{ \"weight\": {D(p.Weight)}, \"initialState\": {p.InitialState} }}")).Append(']');
        sb.Append(",\n  \"transition\": [");
        for (int s = 0; s < inst.States; s++) sb.Append(s > 0 ? ", [" : "[").AppendJoin(", ", inst.Transitions.Slice(s * inst.Vocab, inst.Vocab).ToArray()).Append(']');
        sb.Append("],\n  \"refProbs\": [");
        for (int s = 0; s < inst.States; s++) sb.Append(s > 0 ? ", [" : "[").AppendJoin(", ", inst.LogRefRow(s).ToArray().Select(l => D(Math.Exp(l)))).Append(']');
        sb.Append("],\n  \"tokenFeatures\": [");
        for (int s = 0; s < inst.States; s++)
        {
            sb.Append(s > 0 ? ",\n    [" : "\n    [");
            for (int a = 0; a < inst.Vocab; a++) sb.Append(a > 0 ? ", [" : "[").AppendJoin(", ", inst.TokenFeature(s, a).ToArray().Select(D)).Append(']');
            sb.Append(']');
        }
        sb.Append("] }\n");
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
