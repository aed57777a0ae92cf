using System.CommandLine;
using LmExplore.Experiments;

namespace LmExplore.Cli;

/// <summary>Exit codes of SPEC §5.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Bug = 1;
    public const int BadInput = 2;
    public const int BudgetExhausted = 3;
}

/// <summary>Shared plumbing: invocation with the error policy (one line, exit 2 for bad input), k=v parsing.</summary>
internal static class CliSupport
{
    /// <summary>Parses and invokes; parse errors and <see cref="InputException"/> become one line on stderr and exit 2.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"error: {parse.Errors[0].Message}");
            return ExitCodes.BadInput;
        }
        try
        {
            return parse.Invoke();
        }
        catch (InputException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }

    /// <summary>Runs a command body with the error policy applied (for use inside SetAction).</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (InputException e)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted");
            return 130;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"internal error (a bug — please report it): {e.GetType().Name}: {OneLine(e.Message)}");
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

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
