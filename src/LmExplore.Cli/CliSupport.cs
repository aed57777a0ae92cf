using LmExplore.Runs;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LmExplore.Experiments;

namespace LmExplore.Cli;

/// <summary>Exit codes (docs/CLI.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Bug = 1;
    public const int BadInput = 2;
    public const int BudgetExhausted = 3;
    /// <summary>Interrupted by Ctrl-C (the shell convention 128 + SIGINT).</summary>
    public const int Interrupted = 130;
}

/// <summary>Runs one run request; the seam tests use to substitute a fake for <see cref="Runner.Run"/>.</summary>
internal delegate RunResult RunFunc(RunRequest request, IProgress<double>? progress, CancellationToken cancellationToken);

/// <summary>
/// Everything a command needs from its surroundings: where to write, whether a progress bar may be drawn,
/// the Ctrl-C token and the runner. Passed explicitly so that tests can invoke the CLI in parallel.
/// </summary>
internal sealed class CliContext
{
    /// <summary>Standard output (results only: one JSON object with <c>--json</c>).</summary>
    public required TextWriter Out { get; init; }
    /// <summary>Standard error (one-line errors; the progress bar).</summary>
    public required TextWriter Error { get; init; }
    /// <summary>True on an interactive terminal (neither stream redirected, not CI): progress bars allowed.</summary>
    public bool Interactive { get; init; }
    /// <summary>Cancelled by Ctrl-C.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Least time between two progress lines when not interactive (tests shorten it).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The runner behind <c>run</c>.</summary>
    public RunFunc Run { get; init; } = Runner.Run;

    /// <summary>The process console: interactive unless a stream is redirected, <c>CI</c> is set or the terminal is dumb.</summary>
    public static CliContext ForConsole(CancellationToken cancellation) => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        Interactive = IsInteractiveTerminal(),
        Cancellation = cancellation,
    };

    private static bool IsInteractiveTerminal()
    {
        if (Console.IsOutputRedirected || Console.IsErrorRedirected) return false;
        var ci = Environment.GetEnvironmentVariable("CI");
        if (!string.IsNullOrEmpty(ci) && ci != "0" && !ci.Equals("false", StringComparison.OrdinalIgnoreCase)) return false;
        return Environment.GetEnvironmentVariable("TERM") != "dumb";
    }
}

/// <summary>Shared plumbing: invocation with the error policy (one line, exit 2 for bad input), k=v parsing, option factories.</summary>
internal static class CliSupport
{
    private static readonly AsyncLocal<CliContext?> CurrentContext = new();

    /// <summary>The context of the invocation in progress (the console outside of one).</summary>
    public static CliContext Current => CurrentContext.Value ?? CliContext.ForConsole(CancellationToken.None);

    /// <summary>Standard output of the invocation in progress — use this, not <see cref="Console.Out"/>.</summary>
    public static TextWriter Out => Current.Out;

    /// <summary>Standard error of the invocation in progress — use this, not <see cref="Console.Error"/>.</summary>
    public static TextWriter Error => Current.Error;

    /// <summary>Parses and invokes on the process console.</summary>
    public static int Invoke(RootCommand root, string[] args) => Invoke(root, args, CliContext.ForConsole(CancellationToken.None));

    /// <summary>
    /// Parses and invokes. Parse errors and <see cref="InputException"/> become one line on stderr and exit 2;
    /// any other exception one line and exit 1 — never a stack trace.
    /// </summary>
    public static int Invoke(RootCommand root, string[] args, CliContext context)
    {
        var previous = CurrentContext.Value;
        CurrentContext.Value = context;
        try
        {
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                context.Error.WriteLine(FriendlyParseError(parse) is string friendly
                    ? $"error: {friendly}"
                    : $"error: {OneLine(parse.Errors[0].Message)} (see --help)");
                return ExitCodes.BadInput;
            }
            var configuration = new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null, // Ctrl-C is ours: it cancels context.Cancellation
            };
            return Guard(() => parse.Invoke(configuration));
        }
        finally
        {
            CurrentContext.Value = previous;
        }
    }

    /// <summary>
    /// A mistyped or missing command or option, said plainly with the nearest name (<c>unknown command 'runn' (did you
    /// mean 'run'?)</c>); null when the first parse error is something else. System.CommandLine reports <c>lmexplore runn</c>
    /// as "Required command was not provided", which hides the typo.
    /// </summary>
    internal static string? FriendlyParseError(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.Count == 0)
        {
            // "Required command was not provided": say which.
            var choices = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
            return choices.Count > 0 && command.Action is null ? $"{Path(command)} needs a command: {string.Join(", ", choices)} (see {Path(command)} --help)" : null;
        }
        var token = parse.UnmatchedTokens[0];
        if (token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]) && token[1] != '.') // not a negative number
        {
            var options = command.Options.Concat(Ancestors(command).Skip(1).SelectMany(c => c.Options.Where(o => o.Recursive)))
                .Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal));
            var name = token.Split('=', 2)[0];
            return $"unknown option '{name}' for '{Path(command)}'{Suggestion(name, options)}; see {Path(command)} --help";
        }
        var subcommands = command.Subcommands.Where(c => !c.Hidden).ToList();
        if (subcommands.Count == 0) return null; // a stray argument: System.CommandLine's message says so
        var names = subcommands.Select(c => c.Name).ToList();
        return $"unknown command '{token}'{Suggestion(token, names)}; {Path(command)} commands: {string.Join(", ", names)}";

        static string Path(Command c) => string.Join(' ', Ancestors(c).Reverse().Select(x => x is RootCommand ? "lmexplore" : x.Name));

        // The command, its parent, …, the root (each command here has one parent).
        static IEnumerable<Command> Ancestors(Command c)
        {
            for (Command? x = c; x is not null; x = x.Parents.OfType<Command>().FirstOrDefault()) yield return x;
        }
    }

    /// <summary><c> (did you mean 'x'?)</c> for the nearest candidate within a couple of typos (or extending a prefix), else empty.</summary>
    private static string Suggestion(string typed, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in candidates.Distinct())
        {
            int distance = candidate.StartsWith(typed, StringComparison.OrdinalIgnoreCase) && typed.TrimStart('-').Length >= 2
                ? 1 : EditDistance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance) (best, bestDistance) = (candidate, distance);
        }
        return best is not null && bestDistance <= Math.Max(1, Math.Min(2, typed.Length / 3)) ? $" (did you mean '{best}'?)" : "";
    }

    /// <summary>Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps count 1.</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        for (int j = 1; j <= b.Length; j++)
        {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }

    /// <summary>Runs a command body with the error policy applied (for use inside SetAction).</summary>
    public static int Guard(Func<int> body)
    {
        var error = Error;
        try
        {
            return body();
        }
        catch (InputException e)
        {
            error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("interrupted: cancelled by Ctrl-C, no result written");
            return ExitCodes.Interrupted;
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions is { Count: > 0 } inner && inner.All(x => x is InputException))
        {
            // Runs in parallel (frontier's seeds) that all refused their input: the input is bad, not the program.
            error.WriteLine($"error: {OneLine(inner[0].Message)}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"internal error (a bug — please report it): {e.GetType().Name}: {OneLine(e.Message)}");
            return ExitCodes.Bug;
        }
    }

    /// <summary>
    /// Parses repeated <c>k=v</c> tokens into a dictionary. Each token is one pair, split at its first '=': the key is
    /// trimmed, the value kept verbatim — spaces and further '=' included, so that
    /// <c>--param eval-verifier="python3 check.py --x=1"</c> arrives whole. An empty key or value, or a key set twice,
    /// is bad input naming the flag. Reading the values (numbers, names) is <see cref="OptionReader"/>'s.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseKeyValues(IEnumerable<string>? tokens, string optionName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in tokens ?? [])
        {
            int eq = token.IndexOf('=');
            var key = eq < 0 ? "" : token[..eq].Trim();
            if (key.Length == 0 || eq == token.Length - 1)
                throw new InputException($"{optionName} expects key=value, got '{token}'");
            if (!result.TryAdd(key, token[(eq + 1)..]))
                throw new InputException($"{optionName} sets '{key}' twice");
        }
        return result;
    }

    /// <summary><c>--seed</c>: an unsigned 64-bit integer; anything else is a parse error naming the option.</summary>
    public static Option<ulong> SeedOption(bool required, string description) => new("--seed")
    {
        Description = description,
        HelpName = "N",
        Required = required,
        CustomParser = r => ParseUnsigned(r, "--seed", "an unsigned 64-bit integer"),
    };

    /// <summary>
    /// A budget option: a non-negative 64-bit integer, or absent (unlimited). Scientific notation is accepted when it
    /// denotes an integer (<c>1e6</c>, <c>2.5e4</c>), as in sweep configs; <c>1.5</c> is refused.
    /// </summary>
    public static Option<long?> BudgetOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r =>
        {
            var token = string.Join(' ', r.Tokens.Select(t => t.Value));
            long value = 0;
            switch (r.Tokens.Count == 1 ? ParseCount(token, out value) : CountParse.NotACount)
            {
                case CountParse.Ok: return value;
                case CountParse.TooLarge: r.AddError($"{name} is too large (at most {long.MaxValue}), got '{token}'"); return null;
                default: r.AddError($"{name} must be a non-negative integer (e.g. 250000, 2.5e5), got '{token}'"); return null;
            }
        },
    };

    /// <summary>What <see cref="ParseCount"/> found.</summary>
    internal enum CountParse { Ok, NotACount, TooLarge }

    /// <summary>
    /// Parses a non-negative integer written plainly or in scientific notation (<c>1e6</c>, <c>2.5e4</c>, <c>1.2E+3</c>),
    /// exactly (no binary floating point): <c>1.5</c> and <c>1e-3</c> are not counts.
    /// </summary>
    internal static CountParse ParseCount(string text, out long value)
    {
        // The integer rule of every --param and --algo-param value, so a budget reads like any other count.
        value = 0;
        if (OptionReader.ExactInteger(text) is not { } n || n < 0) return CountParse.NotACount;
        if (n > long.MaxValue) return CountParse.TooLarge;
        value = (long)n;
        return CountParse.Ok;
    }

    /// <summary>A repeatable <c>k=v</c> option (<c>--param a=1 --param b=2</c>, or several pairs after one flag).</summary>
    public static Option<string[]> KeyValueOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "k=v",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    private static ulong ParseUnsigned(ArgumentResult r, string name, string what)
    {
        var token = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(' ', r.Tokens.Select(t => t.Value));
        if (r.Tokens.Count == 1 && ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            return value;
        r.AddError($"{name} must be {what}, got '{token}'");
        return 0;
    }

    /// <summary>Collapses a message to one line (the one-line error policy).</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
