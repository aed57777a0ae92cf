using Parquet;
using Parquet.Schema;

namespace LmExplore.Experiments.Export;

/// <summary>
/// Writes a <see cref="RunTable"/> as Apache Parquet (Parquet.Net), one row group: the same columns as the CSV,
/// typed — integers as nullable int64 (uint64 for seeds beyond its range), other numbers as nullable double,
/// booleans as booleans, text as nullable strings.
/// </summary>
public static class RunTableParquet
{
    /// <summary>The table as the bytes of a Parquet file.</summary>
    public static byte[] ToBytes(RunTable table)
    {
        using var stream = new MemoryStream();
        // Parquet.Net is async-only; the CLI has no synchronization context, so blocking here cannot deadlock.
        WriteAsync(table, stream).GetAwaiter().GetResult();
        return stream.ToArray();
    }

    /// <summary>Writes the table to <paramref name="stream"/>.</summary>
    public static async Task WriteAsync(RunTable table, Stream stream, CancellationToken cancellationToken = default)
    {
        var fields = table.Columns.Select(FieldOf).ToList();
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, cancellationToken: cancellationToken);
        using var group = writer.CreateRowGroup();
        for (int j = 0; j < table.Columns.Count; j++)
        {
            var cells = table.Columns[j].Cells;
            switch (fields[j])
            {
                case DataField<ulong?> f:
                    await group.WriteAsync<ulong>(f, cells.Select(c => c is ulong u ? u : (ulong?)null).ToArray(), cancellationToken: cancellationToken);
                    break;
                case DataField<long?> f:
                    await group.WriteAsync<long>(f, cells.Select(c => c is long l ? l : (long?)null).ToArray(), cancellationToken: cancellationToken);
                    break;
                case DataField<bool?> f:
                    await group.WriteAsync<bool>(f, cells.Select(c => c is bool b ? b : (bool?)null).ToArray(), cancellationToken: cancellationToken);
                    break;
                case DataField<double?> f:
                    await group.WriteAsync<double>(f, cells.Select(c => c switch { double d => d, long l => l, _ => (double?)null }).ToArray(), cancellationToken: cancellationToken);
                    break;
                default:
                    await group.WriteAsync(fields[j], cells.Select(c => c as string).ToArray()!);
                    break;
            }
        }
    }

    private static DataField FieldOf(RunColumn column)
    {
        if (!column.Numeric)
            return column.Cells.Any(c => c is bool) && column.Cells.All(c => c is null or bool)
                ? new DataField<bool?>(column.Name, true) : new DataField<string>(column.Name, true);
        var present = column.Cells.Where(c => c is not null).ToList();
        if (present.Count > 0 && present.All(c => c is ulong)) return new DataField<ulong?>(column.Name, true);
        if (present.Count > 0 && present.All(c => c is long)) return new DataField<long?>(column.Name, true);
        return new DataField<double?>(column.Name, true);
    }
}
