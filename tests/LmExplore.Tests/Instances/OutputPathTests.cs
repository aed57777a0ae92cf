using LmExplore.Instances;
using LmExplore.Runs;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>The output and input rules of the core (<see cref="OutputPath"/>, <see cref="InputPath"/>), file by file.</summary>
public sealed class OutputPathTests : IDisposable
{
    private readonly TempDirectory _temp = new("lmexplore-outputpath-");

    public OutputPathTests() => _root = OutputPath.Resolve(_temp.Path)!; // physical, should the temp directory sit behind a link

    private readonly string _root;

    private string At(string name) => Path.Combine(_root, name);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Kinds_AreTheFileSystems()
    {
        _temp.Write("file", "x");
        Directory.CreateDirectory(At("dir"));
        SpecialFiles.Fifo(At("fifo"));
        File.CreateSymbolicLink(At("link"), "fifo");
        using var socket = SpecialFiles.Socket(At("sock"));
        Assert.Equal(FileKind.Regular, FileKinds.Of(At("file")));
        Assert.Equal(FileKind.Directory, FileKinds.Of(At("dir")));
        Assert.Equal(FileKind.Fifo, FileKinds.Of(At("fifo")));
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(At("link")));
        Assert.Equal(FileKind.Fifo, FileKinds.Of(At("link"), followLinks: true));
        Assert.Equal(FileKind.Socket, FileKinds.Of(At("sock")));
        Assert.Equal(FileKind.Missing, FileKinds.Of(At("none")));
        Assert.Equal(FileKind.Missing, FileKinds.Of(At("file/below")));
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of("/dev/null")); // looked at, never written
    }

    [Fact]
    public void Resolve_FollowsChainsOfRelativeAndAbsoluteLinks_ToTheFinalTarget()
    {
        Directory.CreateDirectory(At("real/sub"));
        _temp.Write("real/sub/file", "x");
        File.CreateSymbolicLink(At("c"), At("real/sub/file"));   // absolute
        File.CreateSymbolicLink(At("b"), "c");                    // relative
        File.CreateSymbolicLink(At("a"), "b");
        Assert.Equal(At("real/sub/file"), OutputPath.Resolve(At("a")));
        Assert.Equal(At("real/sub/file"), OutputPath.File(At("a"), "--out"));
    }

    [Fact]
    public void Resolve_TakesDotDotAfterALinkedDirectory_AsTheKernelDoes()
    {
        Directory.CreateDirectory(At("real/sub"));
        File.CreateSymbolicLink(At("dirlink"), At("real/sub"));
        // dirlink/.. is real, not the temporary directory: lexical normalisation would write elsewhere.
        Assert.Equal(At("real/x"), OutputPath.Resolve(Path.Combine(At("dirlink"), "..", "x")));
        // A link whose relative target climbs out of a linked directory.
        File.CreateSymbolicLink(At("real/sub/up"), "../y");
        Assert.Equal(At("real/y"), OutputPath.Resolve(At("dirlink/up")));
    }

    [Fact]
    public void Resolve_OfALoop_IsNull_AndTheCheckSaysLoop()
    {
        File.CreateSymbolicLink(At("a"), "b");
        File.CreateSymbolicLink(At("b"), "a");
        Assert.Null(OutputPath.Resolve(At("a")));
        Assert.Contains("loop", Assert.Throws<InputException>(() => OutputPath.File(At("a"), "--out")).Message);
        // A long chain within the limit is fine.
        _temp.Write("end", "x");
        string previous = "end";
        for (int i = 0; i < OutputPath.MaxLinks; i++)
        {
            File.CreateSymbolicLink(At($"l{i}"), previous);
            previous = $"l{i}";
        }
        Assert.Equal(At("end"), OutputPath.Resolve(At(previous)));
    }

    [Fact]
    public void File_RefusesWhatIsNotARegularFile_NamingTheFlagAndWhatItIs()
    {
        Directory.CreateDirectory(At("dir"));
        SpecialFiles.Fifo(At("fifo"));
        File.CreateSymbolicLink(At("to-fifo"), "fifo");
        _temp.Write("file", "x");
        Assert.Equal("--out 'x/fifo' is a FIFO (named pipe), not a regular file (outputs are written to regular files only)",
            Assert.Throws<InputException>(() => OutputPath.File(At("fifo"), "--out")).Message.Replace(_root, "x"));
        Assert.Contains($"is a symbolic link to '{At("fifo")}', which is a FIFO", Assert.Throws<InputException>(() => OutputPath.File(At("to-fifo"), "--o")).Message);
        Assert.EndsWith("is a directory", Assert.Throws<InputException>(() => OutputPath.File(At("dir"), "--out")).Message);
        Assert.Contains("does not exist", Assert.Throws<InputException>(() => OutputPath.File(At("none/x"), "--out")).Message);
        Assert.Contains("is not a directory", Assert.Throws<InputException>(() => OutputPath.File(At("file/x"), "--out")).Message);
        Assert.Contains("ends with a separator", Assert.Throws<InputException>(() => OutputPath.File(At("new") + "/", "--out")).Message);
        Assert.Contains("needs a file name", Assert.Throws<InputException>(() => OutputPath.File("", "--out")).Message);
        Assert.Equal(At("file"), OutputPath.File(At("file"), "--out"));
        Assert.Equal(At("new"), OutputPath.File(At("new"), "--out"));
        Assert.Equal(At("a/b/c"), OutputPath.File(At("a/b/c"), "--out", directoryMayBeCreated: true));
    }

    [Fact]
    public void Directory_IsADirectoryOrCreatable()
    {
        Directory.CreateDirectory(At("dir"));
        _temp.Write("file", "x");
        SpecialFiles.Fifo(At("fifo"));
        Assert.Equal(At("dir"), OutputPath.Directory(At("dir"), "--out"));
        Assert.Equal(At("new/deeper"), OutputPath.Directory(At("new/deeper"), "--out"));
        Assert.EndsWith("is a regular file, not a directory", Assert.Throws<InputException>(() => OutputPath.Directory(At("file"), "--out")).Message);
        Assert.EndsWith("is a FIFO (named pipe), not a directory", Assert.Throws<InputException>(() => OutputPath.Directory(At("fifo"), "--out")).Message);
        Assert.Contains("is a regular file, not a directory", Assert.Throws<InputException>(() => OutputPath.Directory(At("file/sub"), "--out")).Message);
        Assert.Contains("kernel's proc file system", Assert.Throws<InputException>(() => OutputPath.Directory("/proc/nonexistent/x", "--out")).Message);
        Assert.False(Directory.Exists(At("new")), "checking creates nothing");
    }

    [Fact]
    public void AtomicWrite_ThroughALink_ReplacesTheTarget_AndRefusesAFifoWithoutOpeningIt()
    {
        _temp.Write("target", "old");
        File.CreateSymbolicLink(At("link"), "target");
        AtomicFile.WriteAllText(At("link"), "new");
        Assert.Equal("new", File.ReadAllText(At("target")));
        Assert.Equal("target", new FileInfo(At("link")).LinkTarget);

        SpecialFiles.Fifo(At("fifo"));
        var write = Task.Run(() => Assert.Throws<InputException>(() => AtomicFile.WriteAllText(At("fifo"), "x")));
        Assert.True(write.Wait(TimeSpan.FromSeconds(60)), "the write blocked on the FIFO");
        Assert.Contains("cannot write (it is a FIFO", write.Result.Message);
        Assert.Equal(FileKind.Fifo, FileKinds.Of(At("fifo")));
        Assert.Equal(["fifo", "link", "target"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void InputPath_RefusesFifosAndDevices_ButNotFilesDirectoriesOrMissingPaths()
    {
        _temp.Write("file", "x");
        SpecialFiles.Fifo(At("fifo"));
        File.CreateSymbolicLink(At("link"), "fifo");
        InputPath.Check(At("file"));
        InputPath.Check(_root);
        InputPath.Check(At("none"));
        Assert.Contains("is a FIFO", Assert.Throws<InputException>(() => InputPath.Check(At("fifo"))).Message);
        Assert.Contains("is a FIFO", Assert.Throws<InputException>(() => InputPath.Check(At("link"))).Message);
        Assert.Equal("--corpus '/dev/zero' is a character device, not a regular file (inputs are read from regular files only)",
            Assert.Throws<InputException>(() => InputPath.Check("/dev/zero", "--corpus")).Message);
    }
}
