using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace LmExplore.Tests.Cli;

/// <summary><c>lmexplore export</c> and <c>lmexplore report</c> end to end: a real (small) sweep, then the CLI on its directory and on JSON lines.</summary>
public class ExportAndReportCommandTests
{
    private const string SmallSweep = """
        {
          "format": "lmexplore.sweep/v1", "name": "small", "sweepSeed": 3,
          "instance": "needle",
          "instanceParams": { "prompts": 2, "responses": 60, "noise": "gaussian", "sigma": 0.1 },
          "grid": { "ccov": [10, 100] },
          "algorithms": [
            { "name": "spanner", "budgetComp": { "times": 2000, "of": "ccov" } },
            { "name": "passive", "budgetData": { "times": 10, "of": "ccov" } }
          ],
          "seeds": 2
        }
        """;

    /// <summary>Columns every export has, which a data-frame reader must type as numbers.</summary>
    private static readonly string[] NumericColumns =
        ["seed", "beta", "d", "T_data", "T_comp", "T_tokens", "J_opt", "J_ref", "J_out", "suboptimality", "output_sample_cost", "C_cov", "wall_seconds",
         "param_instance.ccov", "param_replicate", "param_budget.comp", "param_budget.data"];

    private static string Sweep(TempDir dir)
    {
        var config = dir.Write("sweep.json", SmallSweep);
        var outDir = dir.File("sweep");
        var r = CliHarness.Invoke("sweep", "--config", config, "--out", outDir, "--parallel", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return outDir;
    }

    [Fact]
    public void Export_SweepDirectory_OneTypedRowPerRun()
    {
        using var dir = CliHarness.TempDir();
        var sweep = Sweep(dir);
        var csvPath = dir.File("runs.csv");
        var r = CliHarness.Invoke("export", sweep, "--format", "csv", "--out", csvPath);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stderr);
        Assert.Contains("exported 8 runs", r.Stdout);

        var (header, rows) = ParseCsv(File.ReadAllText(csvPath));
        Assert.Equal(8, rows.Count);
        Assert.All(rows, row => Assert.Equal(header.Count, row.Count));
        Assert.Equal("key", header[0]);
        Assert.Contains("diag_spanner_size", header); // every diagnostics key is its own column
        Assert.Contains("param_label", header);

        // Typed as a data-frame reader types them: a column is numeric when every non-empty cell parses as a number.
        var types = header.Select((name, j) => (name, numeric: rows.All(row => row[j].Length == 0 || IsNumber(row[j])))).ToDictionary(t => t.name, t => t.numeric);
        foreach (var column in NumericColumns) Assert.True(types[column], $"column {column} should parse as numbers");
        foreach (var column in header.Where(h => h.StartsWith("diag_", StringComparison.Ordinal)))
            Assert.True(types[column], $"column {column} should parse as numbers");
        foreach (var column in new[] { "key", "status", "algorithm", "param_label", "param_instance.noise" })
            Assert.False(types[column], $"column {column} is text");

        // Missing → empty: passive reports no spanner size, spanner has no data budget.
        int alg = header.IndexOf("algorithm"), size = header.IndexOf("diag_spanner_size"), data = header.IndexOf("param_budget.data");
        Assert.All(rows.Where(row => row[alg] == "passive"), row => Assert.Equal("", row[size]));
        Assert.All(rows.Where(row => row[alg] == "spanner"), row => Assert.NotEqual("", row[size]));
        Assert.All(rows.Where(row => row[alg] == "spanner"), row => Assert.Equal("", row[data]));

        // The numbers are the results' numbers.
        var results = File.ReadAllLines(Path.Combine(sweep, "results.jsonl")).Select(LmExplore.Experiments.Sweeps.ResultLines.Parse).ToDictionary(x => x.Key);
        int key = header.IndexOf("key"), tComp = header.IndexOf("T_comp"), sub = header.IndexOf("suboptimality"), seed = header.IndexOf("seed");
        foreach (var row in rows)
        {
            var rec = results[row[key]];
            Assert.Equal(rec.Result.TComp, long.Parse(row[tComp], CultureInfo.InvariantCulture));
            Assert.Equal(rec.Result.Suboptimality, double.Parse(row[sub], CultureInfo.InvariantCulture));
            Assert.Equal(rec.Result.Seed, ulong.Parse(row[seed], CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Export_Parquet_SameColumnsTypedAndTheSameNumbers()
    {
        using var dir = CliHarness.TempDir();
        var sweep = Sweep(dir);
        Assert.Equal(0, CliHarness.Invoke("export", sweep, "--out", dir.File("runs.csv")).ExitCode);
        var r = CliHarness.Invoke("export", sweep, "--format", "parquet", "--out", dir.File("runs.parquet"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var (header, rows) = ParseCsv(File.ReadAllText(dir.File("runs.csv")));

        await using var stream = File.OpenRead(dir.File("runs.parquet"));
        await using var reader = await Parquet.ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        Assert.Equal(header, fields.Select(f => f.Name));
        Assert.Equal(1, reader.RowGroupCount);
        using var group = reader.OpenRowGroupReader(0);
        Assert.Equal(8, group.RowCount);

        var tComp = new long?[8];
        await group.ReadAsync<long>(fields.Single(f => f.Name == "T_comp"), tComp.AsMemory());
        Assert.Equal(rows.Select(row => (long?)long.Parse(row[header.IndexOf("T_comp")], CultureInfo.InvariantCulture)), tComp);
        var sub = new double?[8];
        await group.ReadAsync<double>(fields.Single(f => f.Name == "suboptimality"), sub.AsMemory());
        Assert.Equal(rows.Select(row => (double?)double.Parse(row[header.IndexOf("suboptimality")], CultureInfo.InvariantCulture)), sub);
        var size = new double?[8];
        await group.ReadAsync<double>(fields.Single(f => f.Name == "diag_spanner_size"), size.AsMemory());
        Assert.Equal(rows.Select(row => row[header.IndexOf("diag_spanner_size")].Length == 0), size.Select(v => v is null)); // missing → null
        var status = new string?[8];
        await group.ReadAsync(fields.Single(f => f.Name == "status"), status.AsMemory());
        Assert.Equal(rows.Select(row => row[header.IndexOf("status")]), status);
    }

    [Fact]
    public void ResultColumns_FollowTheJson_IntervalsSplit_BooleansAndIntegersKeptExact()
    {
        // Fields a newer result may carry: an interval, a boolean, a label; a seed beyond int64.
        var columns = LmExplore.Experiments.Export.RunTable.ResultColumns(
        [
            """{"seed":18446744073709551615,"T_data":3,"suboptimality":0.5,"suboptimality_ci":[0.25,0.75],"reached_epsilon":true,"evaluation":"monte_carlo","C_cond":null}""",
            """{"seed":7,"T_data":4,"suboptimality":1,"suboptimality_ci":null,"reached_epsilon":false,"evaluation":"exact","C_cond":null}""",
        ]);
        Assert.Equal(["seed", "T_data", "suboptimality", "suboptimality_ci_lo", "suboptimality_ci_hi", "reached_epsilon", "evaluation", "C_cond"], columns.Select(c => c.Name));
        var byName = columns.ToDictionary(c => c.Name);
        Assert.Equal([18446744073709551615UL, 7UL], byName["seed"].Cells.Cast<ulong>());
        Assert.Equal([3L, 4L], byName["T_data"].Cells.Cast<long>());
        Assert.Equal([0.5, 1.0], byName["suboptimality"].Cells.Cast<double>());
        Assert.Equal([0.25, null], byName["suboptimality_ci_lo"].Cells);
        Assert.Equal([true, false], byName["reached_epsilon"].Cells.Cast<bool>());
        Assert.False(byName["evaluation"].Numeric);
        Assert.True(byName["C_cond"].Numeric);
        Assert.All(byName["C_cond"].Cells, Assert.Null);
    }

    [Fact]
    public void Export_RunOutLines_WithoutKeysOrParams()
    {
        using var dir = CliHarness.TempDir();
        var jsonl = dir.File("results.jsonl");
        foreach (var seed in new[] { "1", "2" })
        {
            var run = CliHarness.Invoke("run", "--instance", "needle", "--param", "prompts=2", "responses=60", "ccov=10", "--algo", "passive", "--seed", seed, "--out", jsonl);
            Assert.Equal(0, run.ExitCode);
        }
        var r = CliHarness.Invoke("export", jsonl, "--out", dir.File("runs.csv"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var (header, rows) = ParseCsv(File.ReadAllText(dir.File("runs.csv")));
        Assert.Equal(2, rows.Count);
        Assert.Equal("", rows[0][header.IndexOf("key")]);
        Assert.DoesNotContain(header, h => h.StartsWith("param_", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_SweepDirectoryAndMergedFile_SelfContainedHtmlWithFiguresAndTable()
    {
        using var dir = CliHarness.TempDir();
        var sweep = Sweep(dir);
        var r = CliHarness.Invoke("report", sweep);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var html = File.ReadAllText(Path.Combine(sweep, "report.html"));
        Assert.Equal(3, CountOf(html, "<svg")); // T_data, T_comp, suboptimality against instance.ccov; no T_tokens (never used)
        Assert.Contains("instance.ccov", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("<div class=\"scroll\"><table>", html);
        foreach (var svg in SvgDocuments(html)) Assert.Equal("svg", XDocument.Parse(svg).Root!.Name.LocalName);
        // One line per label (the budget ∝ ccov is not a separate condition), 2 labels × 2 ccov rows.
        Assert.Equal(1 + 4, CountOf(html[html.IndexOf("Runs by condition", StringComparison.Ordinal)..], "<tr>"));

        var merged = dir.File("all.jsonl");
        Assert.Equal(0, CliHarness.Invoke("merge", "--out", merged, sweep).ExitCode);
        var fromFile = CliHarness.Invoke("report", merged, "--out", dir.File("r.html"));
        Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
        Assert.Contains("<svg", File.ReadAllText(dir.File("r.html")));
    }

    [Fact]
    public void BadInput_OneLineExitTwo()
    {
        using var dir = CliHarness.TempDir();
        var notSweep = Directory.CreateDirectory(dir.File("empty")).FullName;
        CliHarness.Invoke("export", dir.File("missing.jsonl"), "--out", dir.File("x.csv")).AssertBadInput("missing source");
        CliHarness.Invoke("export", notSweep, "--out", dir.File("x.csv")).AssertBadInput("directory without manifest");
        CliHarness.Invoke("report", notSweep).AssertBadInput("directory without manifest");
        var garbage = dir.Write("garbage.jsonl", "not json\n{\"also\": \"not a result\"}\n");
        CliHarness.Invoke("export", garbage, "--out", dir.File("x.csv")).AssertBadInput("not result lines");
        var empty = dir.Write("empty.jsonl", "");
        CliHarness.Invoke("report", empty).AssertBadInput("no runs");
        var sweep = Sweep(dir);
        CliHarness.Invoke("export", sweep, "--format", "xlsx", "--out", dir.File("x.csv")).AssertBadInput("unknown format");
        CliHarness.Invoke("export", sweep, "--format", "parquet", "--out", dir.File("no/such/dir/x.parquet")).AssertBadInput("missing output directory (parquet)");
        CliHarness.Invoke("export", sweep, "--out", dir.File("no/such/dir/x.csv")).AssertBadInput("missing output directory");
        CliHarness.Invoke("report", sweep, "--out", dir.Path).AssertBadInput("output is a directory");
        Assert.False(File.Exists(dir.File("x.csv")));
    }

    private static bool IsNumber(string cell) =>
        cell is "inf" or "-inf" || double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private static IEnumerable<string> SvgDocuments(string html)
    {
        for (int i = html.IndexOf("<svg", StringComparison.Ordinal); i >= 0; i = html.IndexOf("<svg", i + 1, StringComparison.Ordinal))
            yield return html[i..(html.IndexOf("</svg>", i, StringComparison.Ordinal) + 6)];
    }

    /// <summary>An RFC 4180 reader (quoted fields with doubled quotes, commas and line breaks inside quotes).</summary>
    private static (List<string> Header, List<List<string>> Rows) ParseCsv(string text)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { record.Add(field.ToString()); field.Clear(); records.Add(record); record = []; }
            else field.Append(c);
        }
        Assert.False(quoted, "unterminated quoted field");
        Assert.True(field.Length == 0 && record.Count == 0, "the CSV must end with a line break");
        return (records[0], records.Skip(1).ToList());
    }
}
