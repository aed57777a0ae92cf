using System.Text;
using System.Text.Json;
using LmExplore.LanguageModels;
using LmExplore.Numerics;

namespace LmExplore.Text;

/// <summary>A prompt of a text task and its weight under ρ.</summary>
public sealed record TextPrompt(string Text, double Weight);

/// <summary>
/// A task with verifier rewards: prompts with weights, a pass threshold on the reward, optionally a built-in checker
/// and a built-in base model. Prompts come from a JSON-lines file (<c>{"prompt": "…", "weight": w}</c>, weight optional,
/// docs/FORMATS.md) or from a built-in task (<see cref="LettersTask"/>).
/// </summary>
public sealed class TextTask
{
    /// <summary>Creates a task.</summary>
    public TextTask(string name, IReadOnlyList<TextPrompt> prompts, double passThreshold, Func<IVerifier>? builtinChecker,
        Func<NGramModel>? builtinModel)
    {
        Name = name;
        Prompts = prompts;
        PassThreshold = passThreshold;
        BuiltinChecker = builtinChecker;
        BuiltinModel = builtinModel;
    }

    /// <summary>Name (in results: <c>text:NAME</c>).</summary>
    public string Name { get; }
    /// <summary>The prompts and their weights (summing to 1).</summary>
    public IReadOnlyList<TextPrompt> Prompts { get; }
    /// <summary>A response passes when its reward is at least this.</summary>
    public double PassThreshold { get; }
    /// <summary>The task's own checker, or null (a file task needs --verifier).</summary>
    public Func<IVerifier>? BuiltinChecker { get; }
    /// <summary>The task's own base model, or null (a file task needs --model).</summary>
    public Func<NGramModel>? BuiltinModel { get; }

    /// <summary>Built-in task names.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = [LettersTask.Name];

    /// <summary>A built-in task by name, or the prompts of a JSON-lines file.</summary>
    public static TextTask Resolve(string spec, double passThreshold, bool binaryReward = false)
    {
        if (string.Equals(spec, LettersTask.Name, StringComparison.OrdinalIgnoreCase)) return LettersTask.Create(passThreshold, binaryReward);
        if (binaryReward) throw new InputException("reward=binary applies to the built-in task letters only (a verifier command decides its own rewards)");
        if (!spec.Contains('.') && !spec.Contains('/') && !File.Exists(spec))
            throw new InputException($"unknown task '{spec}' (built-in: {string.Join(", ", BuiltIn)}; or a prompts file .jsonl)");
        return new TextTask(Path.GetFileName(spec), ReadPrompts(spec), passThreshold, null, null);
    }

    /// <summary>Reads a prompts file: one JSON object per line, <c>prompt</c> a non-empty string, <c>weight</c> optional (> 0, default 1);
    /// weights are normalised. A key set twice, or an unknown key that looks like a misspelt <c>prompt</c> or <c>weight</c>,
    /// is refused. Errors name the file and line.</summary>
    public static IReadOnlyList<TextPrompt> ReadPrompts(string path)
    {
        string[] lines;
        try
        {
            if (Directory.Exists(path)) throw new InputException($"{path}: is a directory, not a prompts file");
            LmExplore.Instances.InputPath.Check(path); // a FIFO would block, a device would never end
            lines = File.ReadAllLines(path, Encoding.UTF8);
        }
        catch (FileNotFoundException) { throw new InputException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new InputException($"{path}: file not found (no such directory)"); }
        catch (IOException e) { throw new InputException($"{path}: cannot read ({e.Message})"); }
        var prompts = new List<TextPrompt>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            string at = $"{path}:{i + 1}";
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new InputException($"{at}: expected a JSON object {{\"prompt\": \"…\"}}");
                CheckKeys(root, at);
                if (!root.TryGetProperty("prompt", out var p) || p.ValueKind != JsonValueKind.String || p.GetString()!.Length == 0)
                    throw new InputException($"{at}: \"prompt\" must be a non-empty string");
                double w = 1;
                if (root.TryGetProperty("weight", out var we))
                {
                    if (we.ValueKind != JsonValueKind.Number || !we.TryGetDouble(out w) || !(w > 0) || !double.IsFinite(w))
                        throw new InputException($"{at}: \"weight\" must be a positive finite number");
                }
                prompts.Add(new TextPrompt(p.GetString()!, w));
            }
            catch (JsonException e)
            {
                throw new InputException($"{at}: not valid JSON ({e.Message.Split('\n')[0].Split(" LineNumber")[0]})");
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json refuses a \ud800 without its pair only when the string is read.
                throw new InputException($"{at}: a string holds a \\u escape that is not valid Unicode (a lone surrogate)");
            }
        }
        if (prompts.Count == 0) throw new InputException($"{path}: no prompts");
        double total = prompts.Sum(p => p.Weight);
        if (double.IsInfinity(total))
        {
            // Weights near the top of the double range overflow their sum: they are relative, so scale by the largest
            // first (only then, so that every file whose sum is finite keeps its exact normalisation).
            double largest = prompts.Max(p => p.Weight);
            prompts = prompts.Select(p => p with { Weight = p.Weight / largest }).ToList();
            total = prompts.Sum(p => p.Weight);
        }
        return prompts.Select(p => p with { Weight = p.Weight / total }).ToList();
    }

    private static readonly string[] PromptKeys = ["prompt", "weight"];

    /// <summary>
    /// A key set twice would leave one of two prompts or weights unread, and a misspelt <c>weight</c> would silently
    /// weigh 1: both are refused, naming the key. Other keys (ids, answers, notes) are ignored, as in every input file.
    /// </summary>
    private static void CheckKeys(JsonElement line, string at)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in line.EnumerateObject())
        {
            if (!seen.Add(property.Name)) throw new InputException($"{at}: key \"{property.Name}\" appears twice");
            if (PromptKeys.Contains(property.Name)) continue;
            foreach (var known in PromptKeys)
                if (string.Equals(property.Name, known, StringComparison.OrdinalIgnoreCase) || LmExplore.Instances.JsonInput.EditDistance(property.Name.ToLowerInvariant(), known) <= 2)
                    throw new InputException($"{at}: unknown key \"{property.Name}\" (did you mean \"{known}\"? a line has \"prompt\" and optionally \"weight\")");
        }
    }
}

/// <summary>
/// The built-in task <c>letters</c> (constrained strings). Alphabet a–f; each of the 15 prompts names two allowed
/// letters, e.g. <c>"ad&gt;"</c>; a response is a string of letters. Reward = the fraction of the response's characters
/// that are allowed (0 for an empty response); a response passes when every character is allowed (reward 1). With
/// <c>reward=binary</c> the checker returns only pass (1) or fail (0).
/// The base model is a character 3-gram trained on a generated corpus of 4000 lines <c>prompt + response</c> whose
/// responses are 3–6 letters drawn uniformly from a–f — a correct answer only by chance, (1/3)^length — so π_ref passes
/// ≈ 1.4 % of the time and good answers are covered poorly: exploration matters. The reward is linear in the default
/// hashed features (prompt-character × response-unigram frequencies) up to hash collisions, so realizability holds
/// approximately, not exactly.
/// </summary>
public static class LettersTask
{
    /// <summary>Task name.</summary>
    public const string Name = "letters";
    /// <summary>The alphabet.</summary>
    public const string Alphabet = "abcdef";
    /// <summary>Seed of the generated corpus (fixed: the base model is part of the task).</summary>
    public const ulong CorpusSeed = 6006;
    /// <summary>Corpus lines.</summary>
    public const int CorpusLines = 4000;
    /// <summary>Order of the built-in n-gram model.</summary>
    public const int ModelOrder = 3;

    private static readonly Lazy<NGramModel> Model = new(() => NGramModel.Train(Corpus(CorpusSeed, CorpusLines), ModelOrder, NGramLevel.Char));

    /// <summary>The 15 prompts "xy&gt;" for letters x &lt; y.</summary>
    public static IReadOnlyList<string> PromptTexts { get; } = BuildPrompts();

    private static string[] BuildPrompts()
    {
        var list = new List<string>();
        for (int i = 0; i < Alphabet.Length; i++)
            for (int j = i + 1; j < Alphabet.Length; j++) list.Add($"{Alphabet[i]}{Alphabet[j]}>");
        return list.ToArray();
    }

    /// <summary>The task; with <paramref name="binaryReward"/> the checker returns 1 for a passing response and 0 otherwise
    /// (pass/fail, as RLVR verifiers do) instead of the fraction of allowed letters.</summary>
    public static TextTask Create(double passThreshold, bool binaryReward = false) => new(Name,
        PromptTexts.Select(p => new TextPrompt(p, 1.0 / PromptTexts.Count)).ToList(), passThreshold,
        binaryReward ? () => new FunctionVerifier("builtin:letters-binary", (x, y) => Reward(x, y) >= 1 ? 1 : 0)
                     : () => new FunctionVerifier("builtin:letters", Reward),
        () => Model.Value);

    /// <summary>The fraction of the response's characters that the prompt allows (the letters before '&gt;'); 0 if empty.</summary>
    public static double Reward(string prompt, string response)
    {
        if (response.Length == 0) return 0;
        int gt = prompt.IndexOf('>');
        var allowed = gt < 0 ? prompt : prompt[..gt];
        int ok = 0;
        foreach (char c in response) if (allowed.Contains(c)) ok++;
        return (double)ok / response.Length;
    }

    /// <summary>
    /// The exact pass rate of π_ref: Σ_x ρ(x)·P(the response is non-empty and every token of it is an allowed letter), by
    /// enumerating the prefixes made of allowed tokens (at most 2 + 4 + … + 2^H of them per prompt) and summing the mass
    /// that ends there (EOS) or reaches the token limit. Exact for a model whose tokens are single characters (the
    /// built-in char n-gram): a response passes exactly when all its tokens are allowed letters.
    /// </summary>
    public static double ExactReferencePassRate(TextTask task, LanguageModels.ILanguageModel model, int maxTokens)
    {
        var distributions = model.RequireNextTokens("the exact pass rate of π_ref");
        double total = 0;
        var lp = new double[distributions.VocabSize];
        foreach (var prompt in task.Prompts)
        {
            string allowedText = prompt.Text[..Math.Max(0, prompt.Text.IndexOf('>'))];
            var allowed = Enumerable.Range(0, distributions.VocabSize)
                .Where(t => t != distributions.Eos && model.Decode([t]) is { Length: > 0 } s && s.All(allowedText.Contains)).ToArray();
            double pass = 0;
            var frontier = new List<(List<int> Context, double LogMass)> { (model.Encode(prompt.Text).ToList(), 0) };
            for (int h = 0; h < maxTokens && frontier.Count > 0; h++)
            {
                var next = new List<(List<int>, double)>();
                foreach (var (context, logMass) in frontier)
                {
                    distributions.NextTokenLogProbs(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context), lp);
                    if (h > 0) pass += Math.Exp(logMass + lp[distributions.Eos]);
                    foreach (int t in allowed)
                    {
                        var extended = new List<int>(context) { t };
                        if (h == maxTokens - 1) pass += Math.Exp(logMass + lp[t]); // cut at the limit, all allowed
                        else next.Add((extended, logMass + lp[t]));
                    }
                }
                frontier = next;
            }
            total += prompt.Weight * pass;
        }
        return total;
    }

    /// <summary>The generated training corpus: lines prompt + response, responses of 3–6 uniform letters.</summary>
    public static IEnumerable<string> Corpus(ulong seed, int lines)
    {
        var rng = new Rng(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sb.Clear().Append(PromptTexts[rng.NextInt(PromptTexts.Count)]);
            int length = 3 + rng.NextInt(4);
            for (int k = 0; k < length; k++) sb.Append(Alphabet[rng.NextInt(Alphabet.Length)]);
            yield return sb.ToString();
        }
    }
}
