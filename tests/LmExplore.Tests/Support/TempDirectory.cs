namespace LmExplore.Tests.Support;

/// <summary>A temporary directory for files a test writes (bad instance files, outputs); deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates a fresh directory whose name starts with <paramref name="prefix"/>.</summary>
    public TempDirectory(string prefix) => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> to a file in the directory and returns its path.</summary>
    public string Write(string name, string text)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
