using LmExplore.Numerics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LmExplore.Instances;

/// <summary>
/// Reads and writes the <c>lmexplore.instance/v1</c> format (docs/FORMATS.md):
/// <code>
/// { "format": "lmexplore.instance/v1", "name": "optional", "beta": 0.1, "featureDim": 3, "theta": [..],
///   "noise": { "kind": "gaussian", "sigma": 0.1 },
///   "prompts": [ { "weight": 0.5, "responses": [ { "refProb": 0.7, "features": [..], "text": "optional" } ] } ] }
/// </code>
/// Our extensions (the spec is silent): a response may give <c>"logRefProb"</c> instead of <c>"refProb"</c>
/// (needed for masses below double's range, e.g. a needle with q ≈ e^{−R/β}, and for exact round trips);
/// <c>"name"</c> is optional; <c>"noise"</c> is optional and defaults to <c>none</c>; other keys are ignored
/// as annotations unless they look like a misspelt known key (see <see cref="JsonInput.CheckUnknownKey"/>).
/// </summary>
public static class InstanceJson
{
    /// <summary>The format tag of this format.</summary>
    public const string Format = "lmexplore.instance/v1";

    /// <summary>Tolerance on Σ weights and Σ refProbs per prompt (docs/FORMATS.md).</summary>
    public const double SumTolerance = 1e-9;

    private static readonly string[] TopKeys = ["format", "name", "beta", "featureDim", "theta", "noise", "prompts"];
    private static readonly string[] PromptKeys = ["weight", "responses"];
    private static readonly string[] ResponseKeys = ["refProb", "logRefProb", "features", "text"];

    /// <summary>Reads an <c>lmexplore.instance/v1</c> file. <paramref name="normalize"/> rescales weights and
    /// refProbs that do not sum to 1 instead of rejecting them. Throws <see cref="InputException"/>.</summary>
    public static EnumerableInstance Read(string path, bool normalize = false)
    {
        if (InstanceJsonFast.TryReadFile(JsonInput.Named(path), path, normalize, Path.GetFileName(path)) is { } fast) return fast;
        var (input, bytes) = JsonInput.ReadFile(path);
        using var doc = input.Parse(bytes);
        return Read(input, doc.RootElement, normalize, Path.GetFileName(path));
    }

    internal static EnumerableInstance Read(JsonInput input, JsonElement root, bool normalize, string fallbackName)
    {
        const string R = "$";
        var top = input.Fields(root, R, TopKeys);
        string name = InstanceJson.ReadHeader(input, top, Format, fallbackName);
        double beta = ReadBeta(input, top);
        int d = input.Integer(input.Required(top, R, "featureDim"), "$.featureDim", 1, 1_000_000);
        var theta = new double[d];
        input.Numbers(input.Required(top, R, "theta"), "$.theta", theta, "featureDim");
        CheckMagnitudes(input, theta, "$.theta");
        var noise = ReadNoise(input, top);

        var promptsEl = input.Required(top, R, "prompts");
        int promptCount = input.Array(promptsEl, "$.prompts");
        if (promptCount == 0) throw input.Fail("$.prompts", "must contain at least one prompt");

        var weights = new double[promptCount];
        var logProbs = new double[promptCount][];
        var features = new double[promptCount][];
        var texts = new string?[promptCount][];
        int x = 0;
        foreach (var promptEl in promptsEl.EnumerateArray())
        {
            string pPath = JsonInput.Index("$.prompts", x);
            var pf = input.Fields(promptEl, pPath, PromptKeys);
            double w = input.Number(input.Required(pf, pPath, "weight"), pPath + ".weight");
            if (!(w > 0)) throw input.Fail(pPath + ".weight", $"must be > 0 (got {JsonInput.Show(pf["weight"])})");
            weights[x] = w;
            ReadResponses(input, input.Required(pf, pPath, "responses"), pPath + ".responses", d, normalize,
                out logProbs[x], out features[x], out texts[x]);
            x++;
        }
        CheckOrNormalizeSum(input, weights, "$.prompts[*].weight", "prompt weights", normalize);

        var prompts = new EnumerablePrompt[promptCount];
        for (x = 0; x < promptCount; x++)
        {
            var t = texts[x];
            prompts[x] = new EnumerablePrompt(weights[x], logProbs[x], features[x], d, theta, t.Any(s => s is not null) ? t : null);
            CheckRewards(input, prompts[x], JsonInput.Index("$.prompts", x), beta, noise, theta);
        }
        return new EnumerableInstance(name, beta, theta, noise, prompts);
    }

    /// <summary>Checks <c>$.format</c> against <paramref name="expectedFormat"/> (naming the supported formats when it
    /// is unknown) and returns <c>$.name</c>, or <paramref name="fallbackName"/> when absent.</summary>
    internal static string ReadHeader(JsonInput input, Dictionary<string, JsonElement> top, string expectedFormat, string fallbackName)
    {
        string format = input.String(input.Required(top, "$", "format"), "$.format");
        if (format != expectedFormat)
            throw input.Fail("$.format", InstanceFile.SupportedFormats.Contains(format)
                ? $"this is a '{format}' instance, but a '{expectedFormat}' instance is needed here"
                : $"unsupported format '{format}' (supported: {string.Join(", ", InstanceFile.SupportedFormats)})");
        return top.TryGetValue("name", out var nameEl) ? input.String(nameEl, "$.name") : fallbackName;
    }

    internal static double ReadBeta(JsonInput input, Dictionary<string, JsonElement> top)
    {
        var el = input.Required(top, "$", "beta");
        double beta = input.Number(el, "$.beta");
        if (InstanceLimits.BetaProblem(beta) is string problem) throw input.Fail("$.beta", problem);
        return beta;
    }

    private static readonly string[] NoiseKeys = ["kind", "sigma"];

    internal static NoiseModel ReadNoise(JsonInput input, Dictionary<string, JsonElement> top)
    {
        if (!top.TryGetValue("noise", out var el)) return NoiseModel.None;
        var f = input.Fields(el, "$.noise", NoiseKeys);
        string kind = input.String(input.Required(f, "$.noise", "kind"), "$.noise.kind");
        switch (kind)
        {
            case "none":
            case "bernoulli":
                if (f.ContainsKey("sigma")) throw input.Fail("$.noise.sigma", $"only allowed with kind 'gaussian' (kind is '{kind}')");
                return kind == "none" ? NoiseModel.None : NoiseModel.Bernoulli;
            case "gaussian":
                var sEl = input.Required(f, "$.noise", "sigma");
                double sigma = input.Number(sEl, "$.noise.sigma");
                if (sigma < 0) throw input.Fail("$.noise.sigma", $"must be ≥ 0 (got {JsonInput.Show(sEl)})");
                return NoiseModel.Gaussian(sigma);
            default:
                throw input.Fail("$.noise.kind", $"unknown noise kind '{kind}' (known: none, gaussian, bernoulli)");
        }
    }

    private static void ReadResponses(JsonInput input, JsonElement el, string path, int d, bool normalize,
        out double[] logProbs, out double[] features, out string?[] texts)
    {
        int n = input.Array(el, path);
        if (n == 0) throw input.Fail(path, "must contain at least one response");
        if ((long)n * d > Array.MaxLength) throw input.Fail(path, $"too many responses × featureDim ({(long)n * d})");
        logProbs = new double[n];
        features = new double[n * d];
        texts = new string?[n];
        int y = 0;
        foreach (var r in el.EnumerateArray())
        {
            if (r.ValueKind != JsonValueKind.Object) throw input.Fail(JsonInput.Index(path, y), $"must be an object (got {JsonInput.Kind(r)})");
            bool hasProb = false, hasLogProb = false, hasFeatures = false, hasText = false;
            foreach (var prop in r.EnumerateObject())
            {
                if (prop.NameEquals("refProb"))
                {
                    if (hasProb) throw Dup(input, path, y, "refProb");
                    if (hasLogProb) throw Both(input, path, y);
                    hasProb = true;
                    double p = input.Number(prop.Value, JsonInput.Index(path, y) + ".refProb");
                    if (!(p > 0)) throw input.Fail(JsonInput.Index(path, y) + ".refProb", $"must be > 0 (got {JsonInput.Show(prop.Value)})");
                    logProbs[y] = Math.Log(p);
                }
                else if (prop.NameEquals("logRefProb"))
                {
                    if (hasLogProb) throw Dup(input, path, y, "logRefProb");
                    if (hasProb) throw Both(input, path, y);
                    hasLogProb = true;
                    double lp = input.Number(prop.Value, JsonInput.Index(path, y) + ".logRefProb");
                    if (lp > Math.Log(1 + SumTolerance) && !normalize)
                        throw input.Fail(JsonInput.Index(path, y) + ".logRefProb", $"must be ≤ 0, a log-probability (got {JsonInput.Show(prop.Value)})");
                    logProbs[y] = lp;
                }
                else if (prop.NameEquals("features"))
                {
                    if (hasFeatures) throw Dup(input, path, y, "features");
                    hasFeatures = true;
                    input.Numbers(prop.Value, JsonInput.Index(path, y) + ".features", features.AsSpan(y * d, d), "featureDim");
                    CheckMagnitudes(input, features.AsSpan(y * d, d), JsonInput.Index(path, y) + ".features");
                }
                else if (prop.NameEquals("text"))
                {
                    if (hasText) throw Dup(input, path, y, "text");
                    hasText = true;
                    texts[y] = prop.Value.ValueKind == JsonValueKind.Null ? null : input.String(prop.Value, JsonInput.Index(path, y) + ".text");
                }
                else input.CheckUnknownKey(prop.Name, JsonInput.Index(path, y), ResponseKeys);
            }
            if (!hasProb && !hasLogProb) throw input.Fail(JsonInput.Index(path, y) + ".refProb", "missing (required field)");
            if (!hasFeatures) throw input.Fail(JsonInput.Index(path, y) + ".features", "missing (required field)");
            y++;
        }
        CheckOrNormalizeLogSum(input, logProbs, path, normalize);
    }

    /// <summary>Σ refProb = 1 within <see cref="SumTolerance"/>, checked in log space so that logRefProb entries far below
    /// double range count correctly; rescales instead when <paramref name="normalize"/>.</summary>
    internal static void CheckOrNormalizeLogSum(JsonInput input, double[] logProbs, string path, bool normalize)
    {
        int n = logProbs.Length;
        double logSum = Numerics.LogMath.LogSumExp(logProbs);
        if (Math.Abs(PreciseMath.ExpM1(logSum)) > SumTolerance)
        {
            if (!normalize)
                throw input.Fail(path + "[*].refProb", $"must sum to 1 within {JsonInput.Fmt(SumTolerance)} (sum is {JsonInput.Fmt(Math.Exp(logSum))}); pass --normalize to rescale");
            for (int i = 0; i < n; i++) logProbs[i] -= logSum;
        }
        else if (normalize && logSum != 0)
            for (int i = 0; i < n; i++) logProbs[i] -= logSum;
    }

    private static InputException Dup(JsonInput input, string path, int y, string key) => input.Fail(JsonInput.Index(path, y) + "." + key, "duplicate key");
    private static InputException Both(JsonInput input, string path, int y) => input.Fail(JsonInput.Index(path, y), "give either refProb or logRefProb, not both");

    /// <summary>Checks Σ values = 1 within tolerance, or rescales when <paramref name="normalize"/>.</summary>
    internal static void CheckOrNormalizeSum(JsonInput input, double[] values, string path, string what, bool normalize)
    {
        double sum = 0;
        foreach (double v in values) sum += v;
        if (!double.IsFinite(sum)) throw input.Fail(path, $"{what} sum to a non-finite number");
        if (Math.Abs(sum - 1) > SumTolerance)
        {
            if (!normalize) throw input.Fail(path, $"{what} must sum to 1 within {JsonInput.Fmt(SumTolerance)} (sum is {JsonInput.Fmt(sum)}); pass --normalize to rescale");
        }
        if (normalize && sum != 1)
            for (int i = 0; i < values.Length; i++) values[i] /= sum;
    }

    /// <summary>Refuses entries beyond <see cref="InstanceLimits.MaxMagnitude"/>, naming the first one.</summary>
    internal static void CheckMagnitudes(JsonInput input, ReadOnlySpan<double> values, string path)
    {
        int i = InstanceLimits.FirstTooLarge(values);
        if (i >= 0) throw input.Fail(JsonInput.Index(path, i), InstanceLimits.MagnitudeProblem(values[i]));
    }

    internal static void CheckRewards(JsonInput input, EnumerablePrompt p, string path, double beta, NoiseModel noise, double[] theta)
    {
        int bad = InstanceLimits.FirstRewardTooLarge(p.FeatureMatrix, theta, beta, out double scale);
        if (bad >= 0) throw input.Fail(JsonInput.Index(path + ".responses", bad) + ".features", InstanceLimits.RewardProblem(scale, beta));
        var r = p.Rewards;
        for (int y = 0; y < r.Length; y++)
        {
            if (noise.Kind == NoiseKind.Bernoulli && (r[y] < 0 || r[y] > 1))
                throw input.Fail(JsonInput.Index(path + ".responses", y) + ".features", $"noise kind 'bernoulli' needs rewards in [0,1] (reward ⟨theta, features⟩ = {JsonInput.Fmt(r[y])})");
        }
    }

    /// <summary>
    /// Writes <paramref name="instance"/> as <c>lmexplore.instance/v1</c>, atomically (temp file in the same
    /// directory, then rename). Doubles are written shortest-round-trip, so reading the file back gives the
    /// identical instance: each response carries <c>refProb</c> when exp(log p) round-trips bit for bit and is
    /// a normal double, else <c>logRefProb</c>.
    /// </summary>
    public static void Write(EnumerableInstance instance, string path) => AtomicFile.Write(path, w => WriteTo(instance, w));

    /// <summary>Writes the JSON text (one response per line, so large files stay diffable and greppable).</summary>
    public static void WriteTo(EnumerableInstance instance, TextWriter w)
    {
        w.Write("{ \"format\": \""); w.Write(Format); w.Write("\",\n");
        w.Write("  \"name\": "); w.Write(Quote(instance.Name)); w.Write(",\n");
        w.Write("  \"beta\": "); w.Write(D(instance.Beta)); w.Write(", \"featureDim\": "); w.Write(instance.Dimension.ToString(CultureInfo.InvariantCulture));
        w.Write(",\n  \"theta\": "); WriteArray(w, instance.Theta);
        w.Write(",\n  \"noise\": { \"kind\": \""); w.Write(instance.Noise.Name); w.Write('"');
        if (instance.Noise.Kind == NoiseKind.Gaussian) { w.Write(", \"sigma\": "); w.Write(D(instance.Noise.Sigma)); }
        w.Write(" },\n  \"prompts\": [\n");
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            w.Write("    { \"weight\": "); w.Write(D(p.Weight)); w.Write(", \"responses\": [\n");
            for (int y = 0; y < p.ResponseCount; y++)
            {
                double lp = p.LogRefProbs[y];
                double prob = Math.Exp(lp);
                if (double.IsNormal(prob) && Math.Log(prob) == lp) { w.Write("      { \"refProb\": "); w.Write(D(prob)); }
                else { w.Write("      { \"logRefProb\": "); w.Write(D(lp)); }
                w.Write(", \"features\": "); WriteArray(w, p.FeatureRow(y));
                if (p.Texts?[y] is string text) { w.Write(", \"text\": "); w.Write(Quote(text)); }
                w.Write(y + 1 < p.ResponseCount ? " },\n" : " }\n");
            }
            w.Write(x + 1 < instance.Prompts.Count ? "    ] },\n" : "    ] }\n");
        }
        w.Write("  ] }\n");
    }

    private static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    private static void WriteArray(TextWriter w, ReadOnlySpan<double> values)
    {
        w.Write('[');
        Span<char> buf = stackalloc char[32];
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) w.Write(", ");
            values[i].TryFormat(buf, out int len, "R", CultureInfo.InvariantCulture);
            w.Write(buf[..len]);
        }
        w.Write(']');
    }
}
