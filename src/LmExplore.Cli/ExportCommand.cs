using System.CommandLine;
using LmExplore.Experiments;
using LmExplore.Experiments.Export;

namespace LmExplore.Cli;

/// <summary><c>lmexplore export SOURCE --format csv --out runs.csv</c>: one flat, typed row per run.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "A sweep directory (manifest.json + results*.jsonl) or a results .jsonl file (merged, or from run --out)." };
        var format = new Option<string>("--format") { HelpName = "csv|parquet", Description = "Output format: csv or parquet.", DefaultValueFactory = _ => "csv" };
        var output = new Option<string>("--out") { HelpName = "runs.csv|runs.parquet", Description = "File to write (written to a temporary file, then renamed).", Required = true };
        var command = new Command("export", "Export runs as one flat table: key, param_<setting>, the run --json fields, diag_<key>; numbers as numbers, missing as empty.")
        {
            source, format, output,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string fmt = parse.GetValue(format)!;
            if (fmt is not ("csv" or "parquet")) throw new InputException($"--format: unknown format '{fmt}' (supported: csv, parquet)");
            string outPath = parse.GetValue(output)!;
            LmExplore.Instances.OutputPath.File(outPath, "--out"); // before reading the runs
            var runs = RunSet.Load(parse.GetValue(source)!);
            var table = RunTable.Build(runs.Records);
            if (fmt == "csv") ReportCommand.WriteFile(outPath, table.ToCsv());
            else ReportCommand.WriteFile(outPath, RunTableParquet.ToBytes(table));
            CliSupport.Out.WriteLine($"exported {table.RowCount} runs × {table.Columns.Count} columns → {outPath}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
