using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Text;

namespace LmExplore.Cli;

/// <summary>How <c>run --task</c> maps onto a run request: instance <c>text:TASK</c>, model and verifier as parameters.</summary>
internal static class TextRunArguments
{
    /// <summary>The note printed under a text run's summary: what is known exactly and what is estimated.</summary>
    public static string Note(EvaluationKind evaluation) =>
        "note: text task — rewards come from a verifier and are not exactly linear in the features (realizability is approximate); " +
        "J and the suboptimality are unknown (null); " + (evaluation == EvaluationKind.Exact
            ? "the output is one fixed answer per prompt, so pass_rate is exact (one verifier call per prompt, not charged to the run); the ref_ rates are Monte Carlo estimates with a 95 % interval."
            : "pass_rate is a Monte Carlo estimate with a 95 % interval from verifier calls not charged to the run.");

    /// <summary>The instance name of the request; folds --model/--verifier into the parameters. Exactly one of --instance/--task.</summary>
    public static string Resolve(string? instance, string? task, string? model, string? verifier, string? featureCommand,
        ref IReadOnlyDictionary<string, string> parameters)
    {
        if (instance is null && task is null) throw new InputException("run needs --instance (an instance family or file) or --task (a text task)");
        if (instance is not null && task is not null) throw new InputException("give either --instance or --task, not both");
        if (task is null)
        {
            if (model is not null) throw new InputException("--model needs --task (language models run on text tasks)");
            if (verifier is not null) throw new InputException("--verifier needs --task");
            if (featureCommand is not null) throw new InputException("--feature-command needs --task");
            return instance!;
        }
        if (task.Length == 0) throw new InputException("--task needs a task name or a prompts file");
        var merged = new Dictionary<string, string>(parameters, StringComparer.Ordinal);
        if (model is not null) merged["model"] = model;
        if (verifier is not null) merged["verifier"] = verifier;
        if (featureCommand is not null)
        {
            if (merged.TryGetValue("features", out var kind) && kind != "command")
                throw new InputException($"--feature-command conflicts with --param features={kind}");
            merged["features"] = "command";
            merged["feature-command"] = featureCommand;
        }
        parameters = merged;
        return TextProblem.Prefix + task;
    }
}

/// <summary><c>lmexplore lm</c>: the built-in language models (train an n-gram model, write the tiny GGUF, sample).</summary>
internal static class LmCommand
{
    public static Command Create()
    {
        var lm = new Command("lm", "Language models: train the built-in n-gram model, write a tiny GGUF, sample from a model.");
        lm.Add(Train());
        lm.Add(TinyGguf());
        lm.Add(Sample());
        return lm;
    }

    private static Command Train()
    {
        var corpus = new Option<string>("--corpus") { HelpName = "file.txt", Description = "Training text, one sequence per line (UTF-8), or 'letters' for the letters task's generated corpus.", Required = true };
        var order = new Option<int>("--order") { HelpName = "n", Description = "n-gram order (1–8).", DefaultValueFactory = _ => 3 };
        var level = new Option<string>("--level") { HelpName = "char|word", Description = "Tokens: characters or whitespace-separated words.", DefaultValueFactory = _ => "char" };
        var output = new Option<string>("--out") { HelpName = "model.json", Description = "Where to write the model (lmexplore.ngram/v1 JSON).", Required = true };
        var command = new Command("train", "Train an n-gram language model with modified Kneser–Ney smoothing.") { corpus, order, level, output };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string path = parse.GetValue(corpus)!;
            var lvl = parse.GetValue(level) switch
            {
                "char" => NGramLevel.Char,
                "word" => NGramLevel.Word,
                var other => throw new InputException($"--level must be char or word, got '{other}'"),
            };
            string outPath = parse.GetValue(output)!;
            LmExplore.Instances.OutputPath.File(outPath, "--out"); // before reading the corpus and training
            IEnumerable<string> lines;
            if (path == LettersTask.Name) lines = LettersTask.Corpus(LettersTask.CorpusSeed, LettersTask.CorpusLines);
            else
            {
                if (Directory.Exists(path)) throw new InputException($"--corpus '{path}' is a directory");
                if (!File.Exists(path)) throw new InputException($"--corpus '{path}': file not found");
                LmExplore.Instances.InputPath.Check(path, "--corpus");
                string[] text;
                try
                {
                    text = File.ReadAllLines(path, Encoding.UTF8);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InputException($"--corpus '{path}': cannot read ({CliSupport.OneLine(e.Message)})");
                }
                if (lvl == NGramLevel.Word) RefuseEosWord(text, path);
                lines = text;
            }
            var clock = Stopwatch.StartNew();
            var model = NGramModel.Train(lines, parse.GetValue(order), lvl);
            model.Save(outPath);
            CliSupport.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"trained {model} ({model.NGramTypes} distinct {model.Order}-grams; discounts of order {model.Order}: {string.Join(", ", model.Discounts(model.Order).Select(d => d.ToString("0.###", CultureInfo.InvariantCulture)))}) in {clock.Elapsed.TotalSeconds:0.###} s → {outPath}"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// A word-level corpus may not hold the word <c>&lt;/s&gt;</c>: it is the model's end-of-sequence token, so the counts
    /// would put an end in the middle of a sequence, and the written model would be refused when it is loaded.
    /// </summary>
    private static void RefuseEosWord(string[] lines, string path)
    {
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains(NGramModel.EosName))
                throw new InputException($"--corpus '{path}': line {i + 1} holds the word '{NGramModel.EosName}', the model's end-of-sequence token; remove it (or train with --level char)");
    }

    private static Command TinyGguf()
    {
        var output = new Option<string>("--out") { HelpName = "tiny.gguf", Description = "Where to write the model.", Required = true };
        var seed = CliSupport.SeedOption(required: false, "Seed of the random weights (default 1).");
        var command = new Command("tiny-gguf", "Write a tiny llama-architecture GGUF with random weights (for trying --model without downloading one).") { output, seed };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string outPath = parse.GetValue(output)!;
            LmExplore.Instances.OutputPath.File(outPath, "--out");
            ulong s = parse.GetResult(seed) is null ? 1 : parse.GetValue(seed);
            GgufWriter.WriteTinyLlama(outPath, s);
            CliSupport.Out.WriteLine($"wrote {new FileInfo(outPath).Length:N0} bytes → {outPath}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Sample()
    {
        var model = new Option<string>("--model") { HelpName = "model.gguf|ngram.json", Description = "The model: a GGUF file, an n-gram model, or KIND:… of a registered model kind.", Required = true };
        var prompt = new Option<string>("--prompt") { HelpName = "text", Description = "The prompt.", Required = true };
        var count = new Option<int>("--n") { Description = "Number of samples.", DefaultValueFactory = _ => 5 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Token limit per sample.", DefaultValueFactory = _ => TextProblem.DefaultMaxTokens };
        var seed = CliSupport.SeedOption(required: true, "Sampling seed.");
        var command = new Command("sample", "Draw responses from a model with their log-probabilities (JSON lines).") { model, prompt, count, maxTokens, seed };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            int n = parse.GetValue(count), limit = parse.GetValue(maxTokens);
            if (n < 1) throw new InputException("--n must be at least 1");
            if (limit < 1 || limit > 4096) throw new InputException("--max-tokens must be in 1..4096");
            string path = parse.GetValue(model)!;
            using var m = ModelCatalog.Open(path);
            var tokens = m.Encode(parse.GetValue(prompt)!);
            var rng = new Rng(parse.GetValue(seed));
            // Drawn in batches (a batch of k equals k single draws), printed as each batch completes.
            var batch = new SampledSequence[Math.Min(n, 64)];
            for (int done = 0; done < n; done += batch.Length)
            {
                var part = batch.AsSpan(0, Math.Min(batch.Length, n - done));
                m.Sample(tokens, limit, rng, part);
                foreach (var s in part) CliSupport.Out.WriteLine(SampleLine(s));
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>One line of <c>lm sample</c>: {"response", "tokens", "ended", "logprob"}, escaped as System.Text.Json's default encoder does.</summary>
    private static string SampleLine(SampledSequence s)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("response", s.Text);
            w.WriteStartArray("tokens");
            foreach (int t in s.Tokens) w.WriteNumberValue(t);
            w.WriteEndArray();
            w.WriteBoolean("ended", s.Ended);
            w.WriteNumber("logprob", s.LogProb);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
