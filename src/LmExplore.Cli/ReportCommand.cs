using System.CommandLine;
using LmExplore.Experiments.Export;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Cli;

/// <summary><c>lmexplore report SWEEP_DIR [--out report.html]</c>: figures and a table for any sweep's results.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "A sweep directory (manifest.json + results*.jsonl) or a results .jsonl file (merged, or from run --out)." };
        var output = new Option<string?>("--out") { HelpName = "report.html", Description = "HTML file to write (default: report.html in the sweep directory, or FILE.report.html beside a .jsonl)." };
        var command = new Command("report", "Build an HTML report (figures + table) from the results of any sweep.") { source, output };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string path = parse.GetValue(source)!;
            string outPath = parse.GetValue(output) ?? (Directory.Exists(path)
                ? Path.Combine(path, "report.html")
                : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path) + ".report.html"));
            // Before reading the runs; a default beside a source that does not exist is left to the source's own message.
            if (parse.GetValue(output) is not null || Path.Exists(path)) LmExplore.Instances.OutputPath.File(outPath, "--out");
            var runs = RunSet.Load(path);
            WriteFile(outPath, SweepReport.Render(runs));
            CliSupport.Out.WriteLine($"report of {runs.Records.Count} runs → {outPath}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Writes UTF-8 text atomically into an existing directory; a missing directory or an unwritable path is bad input.</summary>
    internal static void WriteFile(string path, string text) => WriteFile(path, new System.Text.UTF8Encoding(false).GetBytes(text));

    /// <summary>Writes bytes atomically into an existing directory; a missing directory or an unwritable path is bad input.</summary>
    internal static void WriteFile(string path, byte[] bytes)
    {
        LmExplore.Instances.OutputPath.File(path, "--out");
        try
        {
            AtomicFile.WriteAllBytes(path, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot write --out '{path}': {CliSupport.OneLine(e.Message)}");
        }
    }
}
