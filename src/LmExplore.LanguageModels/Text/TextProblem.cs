using System.Text;
using System.Text.Json;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Runs;

namespace LmExplore.Text;

/// <summary>
/// A text task as a problem (<c>run --task</c>, or a sweep whose instance is <c>text:TASK</c>): prompts from the task, a
/// base model, a feature map and a verifier. Its learner environment is the sequence level (<see cref="TextEnvironment"/>);
/// its output is evaluated by Monte Carlo: K prompts x ~ ρ, one draw of the output sampler each, exactly as a user would
/// draw it, scored by verifier calls that are <b>not</b> charged to the run (a separate meter and, for a command, a
/// separate verifier process). Reported: the pass rate with a 95 % Wilson interval, the mean reward, and the same for
/// π_ref on the same prompts. J_β and the suboptimality are unknown (r* is unknown) and are null. An output that is one
/// fixed answer per prompt (best-of-N) is scored exactly instead: one uncharged verifier call per prompt.
/// Parameters (<c>--param k=v</c>): see <see cref="Keys"/> and docs/LANGUAGE-MODELS.md.
/// </summary>
public sealed class TextProblem : Problem
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

    private readonly TextTask _task;
    private readonly ILanguageModel _model;
    private readonly ITextFeatures _features;
    private readonly IVerifier _verifier;
    private readonly IVerifier _evalVerifier;
    private readonly TextResponses _store;
    private readonly double _beta;
    private readonly int _evalSamples;
    private readonly bool _builtinVerifier;
    private readonly List<IDisposable> _owned;
    private Meter? _runMeter;

    private TextProblem(TextTask task, ILanguageModel model, ITextFeatures features, IVerifier verifier, IVerifier evalVerifier,
        double beta, int maxTokens, int evalSamples, bool builtinVerifier, List<IDisposable> owned)
    {
        (_task, _model, _features, _verifier, _evalVerifier, _beta, _evalSamples, _builtinVerifier, _owned) =
            (task, model, features, verifier, evalVerifier, beta, evalSamples, builtinVerifier, owned);
        _store = new TextResponses(task, model, features, beta, maxTokens);
    }

    /// <summary>Whether <paramref name="instance"/> names a text task.</summary>
    public static bool Handles(string instance) => instance.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Opens the task, model, feature map and verifiers a request names (one-line <see cref="InputException"/> on bad input).</summary>
    public static TextProblem Open(RunRequest request)
    {
        // One binder, one number rule for every option; "seed" is accepted (a sweep may vary it) and has no effect here.
        var p = new OptionReader("text task", "text-task parameter", request.InstanceParams, known: [.. Keys, "seed"]);
        double beta = p.Real("beta", DefaultBeta, 1e-4, 1e3);
        double threshold = p.Real("pass-threshold", 1, -1e9, 1e9);
        int maxTokens = p.Integer("max-tokens", DefaultMaxTokens, 1, 4096);
        int evalSamples = p.Integer("eval-samples", DefaultEvalSamples, 0, 10_000_000);
        int dim = p.Integer("dim", HashedNGramFeatures.DefaultDimension, 1, 1 << 20);
        int hashN = p.Integer("hash-n", HashedNGramFeatures.DefaultN, 1, 5);
        var timeout = TimeSpan.FromSeconds(p.Real("verifier-timeout", CommandVerifier.DefaultTimeout.TotalSeconds, 0.001, 3600));
        int retries = p.Integer("verifier-retries", CommandVerifier.DefaultRetries, 0, 100);
        string rewardKind = p.Choice("reward", "fraction", "fraction", "binary");
        string featureKind = p.Choice("features", "hashed", "hashed", "embeddings", "command");
        string? featureCommand = p.Text("feature-command");
        string? command = p.Text("verifier");
        string? evalCommand = p.Text("eval-verifier");
        string? modelSpec = p.Text("model");
        p.Has("seed");
        p.RejectUnknown();
        if (featureKind != "command" && featureCommand is not null) throw new InputException("feature-command needs --param features=command");

        var task = TextTask.Resolve(request.Instance[Prefix.Length..], threshold, rewardKind == "binary");

        var owned = new List<IDisposable>();
        try
        {
            var model = LoadModel(modelSpec, task);
            owned.Add(model);
            if (command is null && task.BuiltinChecker is null)
                throw new InputException($"task '{task.Name}' has no built-in checker: give --verifier \"COMMAND\"");
            ITextFeatures features = featureKind switch
            {
                "hashed" => new HashedNGramFeatures(dim, hashN),
                "embeddings" => new EmbeddingFeatures(model.RequireEmbedder("features=embeddings")),
                _ => new CommandFeatures(featureCommand ?? throw new InputException("features=command needs --param feature-command=\"COMMAND\""),
                    dim, timeout, retries),
            };
            if (features is IDisposable process) owned.Add(process);
            var verifier = command is null ? task.BuiltinChecker!() : new CommandVerifier(command, timeout, retries);
            owned.Add(verifier);
            var evalVerifier = evalCommand is not null ? new CommandVerifier(evalCommand, timeout, retries)
                : command is null ? task.BuiltinChecker!() : new CommandVerifier(command, timeout, retries);
            owned.Add(evalVerifier);
            return new TextProblem(task, model, features, verifier, evalVerifier, beta, maxTokens, evalSamples, command is null, owned);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    /// <summary>Opens a model through <see cref="ModelCatalog.Open"/>; none given: the task's built-in one.</summary>
    public static ILanguageModel LoadModel(string? path, TextTask task)
    {
        if (path is null)
            return task.BuiltinModel?.Invoke() ?? throw new InputException($"task '{task.Name}' has no built-in model: give --model FILE (.gguf or an n-gram model from 'lm train')");
        return ModelCatalog.Open(path);
    }

    /// <inheritdoc />
    public override string Name => Prefix + _task.Name;

    /// <inheritdoc />
    public override ProblemValues Values => new(_beta, _features.Dimension, double.NaN, double.NaN, double.NaN, null);

    /// <inheritdoc />
    public override ILearnerEnvironment SequenceEnvironment(Meter meter, Rng noise) =>
        new TextEnvironment(_store, (_runMeter = meter), _verifier, TextEnvironment.Training);

    /// <inheritdoc />
    public override ITokenLearnerEnvironment TokenEnvironment(Meter meter, Rng noise, bool distributions, string algorithm) =>
        throw new InputException(_model.NextTokens is null
            ? $"{Name}: {algorithm} learns through the token oracle, which needs next-token distributions; the model (kind '{_model.Kind}') only samples whole responses"
            : $"{Name}: {algorithm} learns through the token oracle, and text tasks have no token-level environment yet " +
              "(token-level runs: the chain family and lmexplore.autoregressive/v1 files)");

    /// <inheritdoc />
    public override ProblemEvaluation Evaluate(LearnedPolicy learned, LearningTarget target, Rng rng, CancellationToken cancellationToken)
    {
        try
        {
            return EvaluateOutput(learned, rng, cancellationToken);
        }
        catch (InputException e) when (_runMeter is { } run)
        {
            // The run itself finished: say what it spent, so a fault of the evaluation's verifier does not hide the costs.
            throw new InputException($"{e.Message} [the run itself finished with T_data = {run.TData}, T_comp = {run.TComp}; " +
                "its result is not reported without its evaluation]");
        }
    }

    private ProblemEvaluation EvaluateOutput(LearnedPolicy learned, Rng rng, CancellationToken cancellationToken)
    {
        var policy = learned.Sequence ?? throw new InvalidOperationException("a text problem evaluates sequence-level outputs");
        // What the run itself drew, before the evaluation's draws join the table.
        long tokensRun = _store.TokensGenerated;
        int distinctRun = _store.Count;
        double threshold = _task.PassThreshold;
        var evalMeter = new Meter();
        var evalEnv = new TextEnvironment(_store, evalMeter, _evalVerifier, TextEnvironment.Evaluation);
        int n = _evalSamples, pass = 0, refPass = 0;
        double rewardSum = 0, refRewardSum = 0;
        long outputCalls = 0;
        for (int i = 0; i < n; i++)
        {
            if ((i & 0xF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = evalEnv.DrawPrompt(rng);
            var draw = policy.Sample(evalEnv, x, rng);
            outputCalls += draw.OracleCalls;
            double r = evalEnv.Query(draw.Response);
            rewardSum += r;
            if (r >= threshold - 1e-12) pass++;
            double rr = evalEnv.Query(evalEnv.Sample(x, rng));
            refRewardSum += rr;
            if (rr >= threshold - 1e-12) refPass++;
        }
        double passRate = n > 0 ? (double)pass / n : double.NaN;
        var (lo, hi) = Wilson(pass, n);
        var (refLo, refHi) = Wilson(refPass, n);
        double meanReward = n > 0 ? rewardSum / n : double.NaN;
        var kind = EvaluationKind.MonteCarlo;
        // One fixed answer per prompt: its pass rate is exact, Σ_x ρ(x)·1[r(x, answer_x) passes] (exact given the verifier's replies).
        if (n > 0 && policy is BestOfNPolicy bestOfN && bestOfN.Answers.All(a => a is not null))
        {
            double exactPass = 0, exactReward = 0;
            for (int i = 0; i < bestOfN.Answers.Count; i++)
            {
                double r = evalEnv.Query(bestOfN.Answers[i]!.Value);
                exactReward += _task.Prompts[i].Weight * r;
                if (r >= threshold - 1e-12) exactPass += _task.Prompts[i].Weight;
            }
            (passRate, lo, hi, meanReward, kind) = (exactPass, exactPass, exactPass, exactReward, EvaluationKind.Exact);
        }

        var diagnostics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["pass_rate"] = passRate,
            ["pass_rate_ci_low"] = lo,
            ["pass_rate_ci_high"] = hi,
            ["ref_pass_rate"] = n > 0 ? (double)refPass / n : double.NaN,
            ["ref_pass_rate_ci_low"] = refLo,
            ["ref_pass_rate_ci_high"] = refHi,
            ["ref_expected_reward"] = n > 0 ? refRewardSum / n : double.NaN,
            ["eval_samples"] = n,
            ["verifier_calls_eval"] = evalMeter.TData,
            ["verifier_answered"] = _verifier.Answered,
            ["verifier_restarts"] = _verifier.Restarts,
            ["tokens_generated"] = tokensRun,
            ["distinct_responses"] = distinctRun,
            ["prompts"] = _task.Prompts.Count,
            ["pass_threshold"] = threshold,
            ["realizable"] = 0, // rewards are not exactly linear in the features: realizability is approximate
        };
        // Exact where the model and reward allow it: π_ref's pass rate on letters with a character-level n-gram model.
        if (_task.Name == LettersTask.Name && _task.PassThreshold >= 1 && _model is NGramModel { Level: NGramLevel.Char } && _builtinVerifier && _store.MaxTokens <= 16)
            diagnostics["ref_pass_rate_exact"] = LettersTask.ExactReferencePassRate(_task, _model, _store.MaxTokens);
        var evaluation = new RunEvaluation(kind, double.NaN, double.NaN, null, null, double.NaN, meanReward, false,
            n > 0 ? (double)outputCalls / n : double.NaN);
        return new ProblemEvaluation(evaluation, diagnostics);
    }

    /// <summary>JSON lines <c>{"prompt": x, "response": "text"}</c> (x the prompt's index in the task) drawn through a fresh,
    /// unbudgeted oracle; no verifier is asked. Returns the base-model samples the draws spent.</summary>
    public override long WriteOutputSamples(LearnedPolicy learned, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken)
    {
        var policy = learned.Sequence ?? throw new InvalidOperationException("a text problem draws from sequence-level outputs");
        var rng = new Rng(seed).Split(RunStreams.OutputSamples);
        var environment = new TextEnvironment(_store, new Meter(), _evalVerifier, TextEnvironment.Evaluation);
        var line = new StringBuilder();
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = environment.DrawPrompt(rng);
            var draw = policy.Sample(environment, x, rng);
            line.Clear().Append("{\"prompt\": ").Append(x.Index).Append(", \"response\": ")
                .Append(JsonSerializer.Serialize(_store.TextOf(draw.Response.Index))).Append('}');
            writer.WriteLine(line);
        }
        return environment.Meter.TComp;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        base.Dispose();
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
}
