using System.Runtime.InteropServices;

namespace LmExplore.Instances;

/// <summary>What a path names, as far as reading and writing files goes.</summary>
public enum FileKind
{
    /// <summary>Nothing is there (or a component of the path is not a directory).</summary>
    Missing,
    /// <summary>A regular file.</summary>
    Regular,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A symbolic link (only when links are not followed).</summary>
    SymbolicLink,
    /// <summary>A FIFO (named pipe): opening it blocks until the other end is opened.</summary>
    Fifo,
    /// <summary>A character device (<c>/dev/null</c>, <c>/dev/zero</c>, a terminal).</summary>
    CharacterDevice,
    /// <summary>A block device (a disk).</summary>
    BlockDevice,
    /// <summary>A Unix domain socket.</summary>
    Socket,
    /// <summary>The system would not say (permission denied, a name too long, a link loop).</summary>
    Unknown,
}

/// <summary>The kind of a directory entry as the file system reports it (<c>statx</c> on Linux).</summary>
internal static class FileKinds
{
    private static bool _noStatx;

    /// <summary>The kind of <paramref name="path"/>; with <paramref name="followLinks"/> that of what a symbolic link points to.</summary>
    public static FileKind Of(string path, bool followLinks = false) => Of(path, followLinks, out _);

    /// <summary>As <see cref="Of(string, bool)"/>; <paramref name="error"/> says why the kind is <see cref="FileKind.Unknown"/>.</summary>
    public static FileKind Of(string path, bool followLinks, out string? error)
    {
        error = null;
        if (OperatingSystem.IsLinux() && !Volatile.Read(ref _noStatx))
        {
            try
            {
                // statx's buffer layout is the same on every architecture, unlike struct stat.
                var buffer = new byte[256];
                if (Native.statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, buffer) == 0)
                {
                    return (BitConverter.ToUInt16(buffer, StatxModeOffset) & 0xF000) switch
                    {
                        0x8000 => FileKind.Regular,
                        0x4000 => FileKind.Directory,
                        0xA000 => FileKind.SymbolicLink,
                        0x1000 => FileKind.Fifo,
                        0x2000 => FileKind.CharacterDevice,
                        0x6000 => FileKind.BlockDevice,
                        0xC000 => FileKind.Socket,
                        _ => FileKind.Unknown,
                    };
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno is ENOENT or ENOTDIR) return FileKind.Missing;
                error = Marshal.GetPInvokeErrorMessage(errno);
                return FileKind.Unknown;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref _noStatx, true); // a libc without statx: the portable answer below
            }
        }
        // Elsewhere .NET tells directories, links and other files apart, but not regular files from special ones.
        if (!followLinks && LinkTarget(path) is not null) return FileKind.SymbolicLink;
        if (System.IO.Directory.Exists(path)) return FileKind.Directory;
        return File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    /// <summary>The kind in words, for messages: "a FIFO (named pipe)".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Missing => "missing",
        _ => "of an unknown kind",
    };

    /// <summary>The target a symbolic link holds, or null when <paramref name="path"/> is not a link (or is missing).</summary>
    public static string? LinkTarget(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// The kernel file system <paramref name="existingPath"/> lies on when it is one of the kernel's interfaces that look
    /// like files (process tables, device, cgroup and tracing controls), else null. Nothing LmExplore reads or writes
    /// belongs there, and as root a write could change a kernel setting.
    /// </summary>
    public static string? KernelFileSystem(string existingPath)
    {
        try
        {
            string format = new DriveInfo(existingPath).DriveFormat;
            return KernelFileSystems.Contains(format, StringComparer.OrdinalIgnoreCase) ? format : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    // Both the kernel's names and .NET's spellings of them.
    private static readonly string[] KernelFileSystems =
    [
        "proc", "sysfs", "devpts", "debugfs", "tracefs", "securityfs", "cgroup", "cgroupfs", "cgroup2", "cgroup2fs",
        "configfs", "pstore", "pstorefs", "efivarfs", "bpf", "bpf_fs", "fusectl", "binfmt_misc", "selinuxfs",
    ];

    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, ENOENT = 2, ENOTDIR = 20, StatxModeOffset = 28;
    private const uint StatxType = 1;

    private static class Native
    {
#pragma warning disable SYSLIB1054 // one plain call; LibraryImport would need unsafe code
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054
    }
}

/// <summary>
/// The one rule for every file a command writes (docs/CLI.md, "Output files"): the target is a regular file or does not
/// exist yet, in an existing directory. FIFOs, sockets, devices and directories are refused before any work starts —
/// an atomic rename would replace them with a regular file (as root, <c>--out /dev/full</c> would replace the system's
/// device), and opening a FIFO blocks. A symbolic link is written through: its final target is replaced, the link stays.
/// </summary>
public static class OutputPath
{
    /// <summary>Links followed at most while resolving a path (the kernel's own limit): more is a loop.</summary>
    public const int MaxLinks = 40;

    /// <summary>
    /// Checks an output file named by <paramref name="flag"/> and returns the path to replace or append to: the final
    /// target of any symbolic links (a dangling link's target is created). With <paramref name="directoryMayBeCreated"/>
    /// a missing directory is fine when it can be created (its nearest existing ancestor is a directory). Throws a
    /// one-line <see cref="InputException"/> naming the flag, the path and what it is.
    /// </summary>
    public static string File(string path, string flag, bool directoryMayBeCreated = false) => Check(path, flag, directoryMayBeCreated);

    /// <summary>
    /// Checks an output directory named by <paramref name="flag"/>: an existing directory (or a link to one) or a path
    /// that can be created (its nearest existing ancestor is a directory). Anything else — a regular file, a FIFO, a
    /// device — is a one-line <see cref="InputException"/>. Returns the directory with its links resolved.
    /// </summary>
    public static string Directory(string path, string flag)
    {
        if (path.Length == 0) throw new InputException($"{flag} needs a directory name (got an empty string)");
        string target = Resolve(path, out int links) ?? throw Loop(path, flag);
        var kind = FileKinds.Of(target, false, out string? error);
        if (kind == FileKind.Directory)
        {
            CheckNotKernel(target, path, flag);
            return target;
        }
        if (kind == FileKind.Unknown) throw new InputException($"{flag} '{path}' {Subject(links, target, $"cannot be examined ({error})")}");
        if (kind != FileKind.Missing) throw new InputException($"{flag} '{path}' {Subject(links, target, $"is {FileKinds.Describe(kind)}, not a directory")}");
        CheckCreatable(target, path, flag);
        return target;
    }

    /// <summary>
    /// The target an output write goes to, checked as <see cref="File"/> checks it, for writers that are not told which
    /// flag named the path: messages then read <c>PATH: cannot write (…)</c>.
    /// </summary>
    internal static string Target(string path) => Check(path, null, false);

    /// <summary>
    /// <paramref name="path"/> made absolute with every symbolic link resolved, in every component and as the kernel
    /// resolves them (<c>link/..</c> is the parent of the link's target), or null after <see cref="MaxLinks"/> links.
    /// From the first component that does not exist on, the rest is kept as written.
    /// </summary>
    public static string? Resolve(string path) => Resolve(path, out _);

    private static string? Resolve(string path, out int links)
    {
        links = 0;
        string full = Path.IsPathRooted(path) ? path : Path.Combine(System.IO.Directory.GetCurrentDirectory(), path);
        string root = Path.GetPathRoot(full)!;
        var pending = new Stack<string>();
        Push(pending, full[root.Length..]);
        string resolved = root;
        bool exists = true;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") { resolved = Path.GetDirectoryName(resolved) ?? root; continue; }
            string next = Path.Join(resolved, part);
            if (exists)
            {
                if (FileKinds.LinkTarget(next) is { } target)
                {
                    if (++links > MaxLinks) return null;
                    if (Path.IsPathRooted(target))
                    {
                        resolved = Path.GetPathRoot(target)!;
                        target = target[resolved.Length..];
                    }
                    Push(pending, target); // relative targets resolve from the link's directory, which is `resolved`
                    continue;
                }
                exists = Path.Exists(next);
            }
            resolved = next;
        }
        return resolved;
    }

    private static void Push(Stack<string> pending, string relative)
    {
        var parts = relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        for (int i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }

    private static string Check(string path, string? flag, bool directoryMayBeCreated)
    {
        if (path.Length == 0) throw new InputException(flag is null ? "cannot write: the output file name is empty" : $"{flag} needs a file name (got an empty string)");
        string target = Resolve(path, out int links) ?? throw Loop(path, flag);
        var kind = FileKinds.Of(target, false, out string? error);
        string? problem = kind switch
        {
            FileKind.Regular or FileKind.Missing => null,
            FileKind.Directory => "is a directory",
            FileKind.Unknown => $"cannot be examined ({error})",
            _ => $"is {FileKinds.Describe(kind)}, not a regular file (outputs are written to regular files only)",
        };
        if (problem is null && (path.EndsWith(Path.DirectorySeparatorChar) || path.EndsWith(Path.AltDirectorySeparatorChar)))
            problem = "ends with a separator, so it names a directory, not a file";
        if (problem is not null)
        {
            problem = Subject(links, target, problem);
            throw new InputException(flag is null ? $"{path}: cannot write (it {problem})" : $"{flag} '{path}' {problem}");
        }
        string dir = Path.GetDirectoryName(target)!;
        var dirKind = FileKinds.Of(dir, followLinks: true);
        if (dirKind == FileKind.Missing && directoryMayBeCreated && flag is not null) CheckCreatable(dir, path, flag); // the writer creates it
        else if (dirKind == FileKind.Missing)
            throw new InputException(flag is null ? $"{path}: cannot write (directory {dir} does not exist)" : $"{flag} '{path}': directory '{dir}' does not exist");
        else if (dirKind != FileKind.Directory)
            throw new InputException(flag is null ? $"{path}: cannot write ({dir} is not a directory)" : $"{flag} '{path}': '{dir}' is not a directory");
        else if (FileKinds.KernelFileSystem(dir) is string fs)
            throw new InputException(flag is null ? $"{path}: cannot write ({dir} is in the kernel's {fs} file system)" : $"{flag} '{path}': '{dir}' is in the kernel's {fs} file system, not a place for output files");
        return target;
    }

    /// <summary>A missing directory can be created when its nearest existing ancestor is a directory outside the kernel's file systems.</summary>
    private static void CheckCreatable(string missing, string path, string flag)
    {
        string? ancestor = Path.GetDirectoryName(missing);
        while (ancestor is not null && FileKinds.Of(ancestor, followLinks: true) == FileKind.Missing) ancestor = Path.GetDirectoryName(ancestor);
        if (ancestor is null) throw new InputException($"{flag} '{path}': no existing directory to create it in");
        var kind = FileKinds.Of(ancestor, followLinks: true);
        if (kind != FileKind.Directory) throw new InputException($"{flag} '{path}': '{ancestor}' is {FileKinds.Describe(kind)}, not a directory");
        CheckNotKernel(ancestor, path, flag);
    }

    private static void CheckNotKernel(string existing, string path, string flag)
    {
        if (FileKinds.KernelFileSystem(existing) is string fs)
            throw new InputException($"{flag} '{path}': '{existing}' is in the kernel's {fs} file system, not a place for outputs");
    }

    /// <summary>What the path is, said of the link's final target when links were followed.</summary>
    private static string Subject(int links, string target, string problem) =>
        links > 0 ? $"is a symbolic link to '{target}', which {problem}" : problem;

    private static InputException Loop(string path, string? flag) => new(flag is null
        ? $"{path}: cannot write (more than {MaxLinks} symbolic links: a loop?)"
        : $"{flag} '{path}': more than {MaxLinks} symbolic links to follow (a loop?)");

    /// <summary>Creates an output directory (and its parents); a failure is a one-line <see cref="InputException"/> naming it.</summary>
    public static void CreateDirectory(string path, string? flag = null)
    {
        try
        {
            System.IO.Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{(flag is null ? "" : flag + " ")}'{path}': cannot create the directory ({e.Message.ReplaceLineEndings(" ")})");
        }
    }
}

/// <summary>
/// The rule for every file a command reads: a regular file (or a directory, where a command reads directories). A FIFO
/// blocks on open and a device never ends (<c>/dev/zero</c>), so both are refused before they are opened, as are files
/// of the kernel's own file systems (<c>/proc</c>, <c>/sys</c>), whose reads may block or never end.
/// </summary>
public static class InputPath
{
    /// <summary>
    /// Refuses <paramref name="path"/> (after following links) when it is a FIFO, socket or device, or lies on a kernel
    /// file system, with a one-line <see cref="InputException"/> naming <paramref name="flag"/> when given. A missing
    /// file is left to the reader, whose message says what it expected there.
    /// </summary>
    public static void Check(string path, string? flag = null)
    {
        var kind = FileKinds.Of(path, followLinks: true);
        string? problem = kind switch
        {
            FileKind.Missing or FileKind.Unknown => null, // the reader words these (file not found, permission denied)
            FileKind.Regular or FileKind.Directory => FileKinds.KernelFileSystem(path) is string fs ? $"is in the kernel's {fs} file system, not an input file" : null,
            _ => $"is {FileKinds.Describe(kind)}, not a regular file (inputs are read from regular files only)",
        };
        if (problem is not null) throw new InputException(flag is null ? $"{path}: {problem}" : $"{flag} '{path}' {problem}");
    }
}
