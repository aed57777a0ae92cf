using System.Globalization;
using System.IO.Compression;
using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// Reads an enumerable instance from a numpy <c>.npz</c> file (a zip of .npy arrays, stored or deflated, as written by
/// <c>np.savez</c> / <c>np.savez_compressed</c>); the layout is documented in docs/NPZ.md:
/// <list type="bullet">
/// <item><c>features</c> — float64 [prompts, responses, d], or [responses, d] for one prompt;</item>
/// <item><c>log_ref</c> or <c>ref_probs</c> — [prompts, responses] (or [responses]);</item>
/// <item><c>theta</c> — [d]; <c>beta</c> — scalar;</item>
/// <item>optional <c>weights</c> — [prompts] (default uniform); optional <c>noise_sigma</c> — scalar (Gaussian
/// reward noise; absent = no noise).</item>
/// </list>
/// The same checks as <see cref="InstanceJson"/> apply (sums to 1 within 1e-9 unless normalizing, β range, magnitudes,
/// reward scale; see <see cref="InstanceLimits"/>); every failure is one line naming the file and the array.
/// Features are read straight from the archive into each prompt's contiguous N × d array, without parsing.
/// </summary>
public static class NpzInstance
{
    /// <summary>The file extension that selects this reader.</summary>
    public const string Extension = ".npz";

    /// <summary>Array names this reader knows.</summary>
    public static IReadOnlyList<string> Arrays { get; } = ["features", "log_ref", "ref_probs", "theta", "beta", "weights", "noise_sigma"];

    /// <summary>Reads <paramref name="path"/>. <paramref name="normalize"/> rescales weights and reference probabilities
    /// that do not sum to 1 instead of rejecting them. Throws <see cref="InputException"/>.</summary>
    public static EnumerableInstance Read(string path, bool normalize = false)
    {
        ZipArchive zip;
        try
        {
            if (Directory.Exists(path)) throw new InputException($"{path}: is a directory, not an instance file");
            zip = ZipFile.OpenRead(path);
        }
        catch (FileNotFoundException) { throw new InputException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new InputException($"{path}: file not found (no such directory)"); }
        catch (UnauthorizedAccessException) { throw new InputException($"{path}: cannot read file (permission denied)"); }
        catch (InvalidDataException) { throw new InputException($"{path}: not a .npz file (not a valid zip archive)"); }
        catch (IOException e) { throw new InputException($"{path}: cannot read file ({e.Message.ReplaceLineEndings(" ")})"); }
        using (zip)
        {
            try { return Read(zip, path, normalize); }
            catch (InvalidDataException e) { throw new InputException($"{path}: corrupt .npz member ({e.Message.ReplaceLineEndings(" ")})"); }
        }
    }

    private static EnumerableInstance Read(ZipArchive zip, string path, bool normalize)
    {
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            string name = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
            if (!Arrays.Contains(name))
                throw new InputException($"{path}: unknown array '{name}' (known: {string.Join(", ", Arrays)})");
            if (!entries.TryAdd(name, entry)) throw new InputException($"{path}: {name}: appears twice in the archive");
        }
        ZipArchiveEntry Required(string name) =>
            entries.TryGetValue(name, out var e) ? e : throw new InputException($"{path}: {name}: missing (required array)");

        // Small arrays first (any order works: the zip's central directory locates each member).
        double beta = Scalar(Required("beta"), path, "beta");
        if (InstanceLimits.BetaProblem(beta) is string betaProblem) throw new InputException($"{path}: beta: {betaProblem}");

        using var featuresStream = Required("features").Open();
        string fWhere = $"{path}: features";
        var fHeader = Npy.ReadHeader(featuresStream, fWhere, out int fHeaderBytes);
        var fs = fHeader.Shape;
        if (fs.Length is not (2 or 3))
            throw new InputException($"{fWhere}: has shape {fHeader.ShapeText}; expected [prompts, responses, d] or [responses, d]");
        long promptsL = fs.Length == 3 ? fs[0] : 1, nL = fs[^2], dL = fs[^1];
        if (promptsL < 1 || nL < 1 || dL < 1) throw new InputException($"{fWhere}: has shape {fHeader.ShapeText}; every dimension must be ≥ 1");
        if (dL > 1_000_000) throw new InputException($"{fWhere}: d = {dL} exceeds 1000000");
        if (promptsL > 1_000_000) throw new InputException($"{fWhere}: {promptsL} prompts exceed 1000000");
        if (nL > Array.MaxLength || nL * dL > Array.MaxLength) throw new InputException($"{fWhere}: responses × d = {nL * dL} is too large per prompt");
        int prompts = (int)promptsL, n = (int)nL, d = (int)dL;
        CheckLength(Required("features"), fHeaderBytes, promptsL * nL * dL, fWhere);

        var theta = Vector(Required("theta"), path, "theta", [d], "[d]");
        int bad = InstanceLimits.FirstTooLarge(theta);
        if (bad >= 0) throw new InputException($"{path}: theta[{bad}]: {InstanceLimits.MagnitudeProblem(theta[bad])}");

        var weights = new double[prompts];
        if (entries.TryGetValue("weights", out var wEntry))
        {
            var w = Vector(wEntry, path, "weights", [prompts], "[prompts]");
            for (int x = 0; x < prompts; x++)
                if (!(w[x] > 0) || !double.IsFinite(w[x])) throw new InputException($"{path}: weights[{x}]: must be a positive finite number (got {Fmt(w[x])})");
            double sum = 0;
            foreach (double v in w) sum += v;
            if (Math.Abs(sum - 1) > InstanceJson.SumTolerance && !normalize)
                throw new InputException($"{path}: weights: must sum to 1 within {Fmt(InstanceJson.SumTolerance)} (sum is {Fmt(sum)}); pass --normalize to rescale");
            for (int x = 0; x < prompts; x++) weights[x] = normalize ? w[x] / sum : w[x];
        }
        else Array.Fill(weights, 1.0 / prompts);

        var noise = NoiseModel.None;
        if (entries.TryGetValue("noise_sigma", out var sEntry))
        {
            double sigma = Scalar(sEntry, path, "noise_sigma");
            if (!(sigma >= 0) || !double.IsFinite(sigma)) throw new InputException($"{path}: noise_sigma: must be a finite number ≥ 0 (got {Fmt(sigma)})");
            noise = NoiseModel.Gaussian(sigma);
        }

        bool hasLog = entries.TryGetValue("log_ref", out var logEntry), hasProbs = entries.TryGetValue("ref_probs", out var probEntry);
        if (hasLog == hasProbs)
            throw new InputException($"{path}: {(hasLog ? "give either log_ref or ref_probs, not both" : "log_ref: missing (give log_ref or ref_probs)")}");
        string refName = hasLog ? "log_ref" : "ref_probs";
        long[] refShape = fs.Length == 3 ? [prompts, n] : [n];
        var logRef = Vector(hasLog ? logEntry! : probEntry!, path, refName, refShape, fs.Length == 3 ? "[prompts, responses]" : "[responses]",
            alsoAccept: fs.Length == 2 ? [1, n] : null);

        var list = new EnumerablePrompt[prompts];
        for (int x = 0; x < prompts; x++)
        {
            var lp = new double[n];
            Array.Copy(logRef, (long)x * n, lp, 0, n);
            ToLogProbabilities(lp, hasLog, normalize, path, refName, x, fs.Length == 3);
            var features = GC.AllocateUninitializedArray<double>(n * d);   // filled whole by the read below
            Npy.ReadElements(featuresStream, fHeader.Type, features, fWhere);
            CheckFeatures(features, theta, beta, d, path, x, fs.Length == 3);
            list[x] = new EnumerablePrompt(weights[x], lp, features, d, theta);
        }
        return new EnumerableInstance(Path.GetFileName(path), beta, theta, noise, list);
    }

    /// <summary>Turns one prompt's row of <c>log_ref</c> or <c>ref_probs</c> into log-probabilities, checking the sum
    /// in log space (masses far below double range count correctly).</summary>
    private static void ToLogProbabilities(double[] lp, bool isLog, bool normalize, string path, string name, int x, bool perPrompt)
    {
        for (int y = 0; y < lp.Length; y++)
        {
            double v = lp[y];
            if (isLog)
            {
                if (!double.IsFinite(v) || (v > Math.Log(1 + InstanceJson.SumTolerance) && !normalize))
                    throw new InputException($"{path}: {Element(name, x, y, perPrompt)}: must be a finite log-probability ≤ 0 (got {Fmt(v)})");
            }
            else
            {
                if (!(v > 0) || !double.IsFinite(v))
                    throw new InputException($"{path}: {Element(name, x, y, perPrompt)}: must be a positive finite probability (got {Fmt(v)})");
                lp[y] = Math.Log(v);
            }
        }
        double logSum = LogMath.LogSumExp(lp);
        if (Math.Abs(PreciseMath.ExpM1(logSum)) > InstanceJson.SumTolerance)
        {
            if (!normalize)
                throw new InputException($"{path}: {(perPrompt ? $"{name}[{x}, :]" : name)}: must sum to 1 within {Fmt(InstanceJson.SumTolerance)} " +
                    $"(sum is {Fmt(Math.Exp(logSum))}); pass --normalize to rescale");
        }
        if (normalize && logSum != 0)
            for (int y = 0; y < lp.Length; y++) lp[y] -= logSum;
    }

    /// <summary>Magnitudes (vectorized fast path, then the first offender) and the reward scale of every response.</summary>
    private static void CheckFeatures(double[] features, double[] theta, double beta, int d, string path, int x, bool perPrompt)
    {
        int i = InstanceLimits.FirstTooLarge(features);
        if (i >= 0)
        {
            throw new InputException($"{path}: features[{(perPrompt ? $"{x}, " : "")}{i / d}, {i % d}]: {InstanceLimits.MagnitudeProblem(features[i])}");
        }
        int y = InstanceLimits.FirstRewardTooLarge(features, theta, beta, out double scale);
        if (y >= 0) throw new InputException($"{path}: features[{(perPrompt ? $"{x}, " : "")}{y}, :]: {InstanceLimits.RewardProblem(scale, beta)}");
    }

    private static string Element(string name, int x, int y, bool perPrompt) => perPrompt ? $"{name}[{x}, {y}]" : $"{name}[{y}]";

    /// <summary>A scalar array (shape () or (1,)).</summary>
    private static double Scalar(ZipArchiveEntry entry, string path, string name) =>
        Vector(entry, path, name, [], "a scalar", alsoAccept: [1])[0];

    /// <summary>A whole array of the expected shape (or <paramref name="alsoAccept"/>), as doubles.</summary>
    private static double[] Vector(ZipArchiveEntry entry, string path, string name, long[] shape, string shapeText, long[]? alsoAccept = null)
    {
        string where = $"{path}: {name}";
        using var stream = entry.Open();
        var header = Npy.ReadHeader(stream, where, out int headerBytes);
        if (!header.Shape.SequenceEqual(shape) && (alsoAccept is null || !header.Shape.SequenceEqual(alsoAccept)))
            throw new InputException($"{where}: has shape {header.ShapeText}, expected {shapeText} = {new NpyHeader(header.Type, shape).ShapeText}");
        long count = header.Count;
        CheckLength(entry, headerBytes, count, where);
        var values = new double[count];
        Npy.ReadElements(stream, header.Type, values, where);
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i])) throw new InputException($"{where}: element {i} is not finite ({Fmt(values[i])})");
        return values;
    }

    /// <summary>The member must hold exactly header + count·8 bytes (numpy writes nothing else).</summary>
    private static void CheckLength(ZipArchiveEntry entry, int headerBytes, long count, string where)
    {
        long expected = headerBytes + count * 8;
        if (entry.Length < expected)
            throw new InputException($"{where}: data is truncated ({entry.Length - headerBytes} bytes of data, the shape needs {count * 8})");
        if (entry.Length > expected)
            throw new InputException($"{where}: {entry.Length - expected} bytes after the data the shape describes (malformed .npy)");
    }

    /// <summary>
    /// Writes <paramref name="instance"/> as an uncompressed <c>.npz</c> (atomically): features [prompts, responses, d],
    /// log_ref, theta, beta, weights and, for Gaussian noise, noise_sigma. Reading it back gives the identical
    /// instance (doubles are stored bit for bit). Needs equal response counts per prompt and no Bernoulli noise
    /// (the layout has neither); response texts are not stored.
    /// </summary>
    public static void Write(EnumerableInstance instance, string path)
    {
        int n = instance.Prompts[0].ResponseCount, d = instance.Dimension, prompts = instance.Prompts.Count;
        if (instance.Prompts.Any(p => p.ResponseCount != n))
            throw new InputException($"{path}: .npz needs the same number of responses in every prompt (use .json)");
        if (instance.Noise.Kind == NoiseKind.Bernoulli)
            throw new InputException($"{path}: .npz has no Bernoulli noise (only noise_sigma for Gaussian noise; use .json)");
        AtomicFile.WriteBytes(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            void Array(string name, long[] shape, Action<Stream> data)
            {
                using var s = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
                Npy.WriteHeader(s, shape);
                data(s);
            }
            Array("features", [prompts, n, d], s => { foreach (var p in instance.Prompts) Npy.WriteElements(s, p.FeatureMatrix); });
            Array("log_ref", [prompts, n], s => { foreach (var p in instance.Prompts) Npy.WriteElements(s, p.LogRefProbs); });
            Array("theta", [d], s => Npy.WriteElements(s, instance.Theta));
            Array("beta", [], s => Npy.WriteElements(s, [instance.Beta]));
            Array("weights", [prompts], s => Npy.WriteElements(s, instance.Prompts.Select(p => p.Weight).ToArray()));
            if (instance.Noise.Kind == NoiseKind.Gaussian) Array("noise_sigma", [], s => Npy.WriteElements(s, [instance.Noise.Sigma]));
        });
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
