using System.Text;
using LmExplore.Experiments;

namespace LmExplore.Instances;

/// <summary>Never a half-written file: write to a temporary file in the same directory, then rename over the target.</summary>
internal static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temp file next to <paramref name="path"/> and renames it into place.
    /// I/O failures become one-line <see cref="InputException"/>s and leave no temp file behind.</summary>
    public static void Write(string path, Action<TextWriter> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir)) throw new InputException($"{path}: cannot write (directory {dir} does not exist)");
        if (Directory.Exists(full)) throw new InputException($"{path}: cannot write (it is a directory)");
        string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16))
                write(w);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new InputException($"{path}: cannot write ({e.Message.Replace('\n', ' ').Replace('\r', ' ')})");
        }
    }

    /// <summary>Writes a whole string atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, w => w.Write(text));
}
