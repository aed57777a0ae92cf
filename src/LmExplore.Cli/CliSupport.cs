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
                context.Error.WriteLine($"error: {OneLine(parse.Errors[0].Message)} (see --help)");
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
        catch (Exception e)
        {
            error.WriteLine($"internal error (a bug — please report it): {e.GetType().Name}: {OneLine(e.Message)}");
            return ExitCodes.Bug;
        }
    }

    /// <summary>Parses repeated <c>k=v</c> tokens into a dictionary; a malformed or repeated key is bad input.</summary>
    public static IReadOnlyDictionary<string, string> ParseKeyValues(IEnumerable<string>? tokens, string optionName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in tokens ?? [])
        {
            foreach (var part in token.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0 || eq == part.Length - 1)
                    throw new InputException($"{optionName} expects key=value, got '{part}'");
                var key = part[..eq];
                if (!result.TryAdd(key, part[(eq + 1)..]))
                    throw new InputException($"{optionName} sets '{key}' twice");
            }
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

    /// <summary>A budget option: a non-negative 64-bit integer, or absent (unlimited).</summary>
    public static Option<long?> BudgetOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r =>
        {
            ulong value = ParseUnsigned(r, name, "a non-negative integer");
            if (value > long.MaxValue) { r.AddError($"{name} is too large, got '{r.Tokens[0].Value}'"); return null; }
            return (long)value;
        },
    };

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
