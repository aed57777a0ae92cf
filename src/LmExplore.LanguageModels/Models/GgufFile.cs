using System.Text;
using LmExplore.Runs;

namespace LmExplore.LanguageModels;

/// <summary>The value types of GGUF metadata (the numbering is the format's).</summary>
public enum GgufValueType : uint
{
    /// <summary>uint8.</summary>
    UInt8 = 0,
    /// <summary>int8.</summary>
    Int8 = 1,
    /// <summary>uint16.</summary>
    UInt16 = 2,
    /// <summary>int16.</summary>
    Int16 = 3,
    /// <summary>uint32.</summary>
    UInt32 = 4,
    /// <summary>int32.</summary>
    Int32 = 5,
    /// <summary>float32.</summary>
    Float32 = 6,
    /// <summary>bool (one byte).</summary>
    Bool = 7,
    /// <summary>UTF-8 string with a uint64 length.</summary>
    String = 8,
    /// <summary>Array of one element type with a uint64 count.</summary>
    Array = 9,
    /// <summary>uint64.</summary>
    UInt64 = 10,
    /// <summary>int64.</summary>
    Int64 = 11,
    /// <summary>float64.</summary>
    Float64 = 12,
}

/// <summary>
/// One metadata value of a GGUF file: a scalar (<see cref="Count"/> 1) or an array of one element type. Integers and
/// booleans are kept as <see cref="long"/> (a uint64 above <see cref="long.MaxValue"/> saturates: every check made on
/// them caps far below), floats as <see cref="double"/>, strings as their raw bytes (a vocabulary is compared byte for
/// byte, as llama.cpp does).
/// </summary>
public sealed class GgufValue
{
    internal GgufValue(GgufValueType type, GgufValueType elementType, long[]? integers, double[]? floats, byte[][]? strings)
    {
        Type = type;
        ElementType = elementType;
        Integers = integers;
        Floats = floats;
        Strings = strings;
    }

    /// <summary>The value's type (<see cref="GgufValueType.Array"/> for arrays).</summary>
    public GgufValueType Type { get; }
    /// <summary>The element type: the scalar's own type, or the array's element type.</summary>
    public GgufValueType ElementType { get; }
    /// <summary>Whether this is an array.</summary>
    public bool IsArray => Type == GgufValueType.Array;
    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Count => Integers?.Length ?? Floats?.Length ?? Strings!.Length;
    /// <summary>Integer and boolean elements, else null.</summary>
    public long[]? Integers { get; }
    /// <summary>Float elements, else null.</summary>
    public double[]? Floats { get; }
    /// <summary>String elements (raw UTF-8 bytes), else null.</summary>
    public byte[][]? Strings { get; }

    /// <summary>Whether the elements are integers (any width, signed or not; not booleans).</summary>
    public bool IsInteger => Integers is not null && ElementType != GgufValueType.Bool;

    /// <summary>The type as the format names it ("u32", "array of f32", …), for error messages.</summary>
    public string TypeName => IsArray ? $"array of {Name(ElementType)}" : Name(ElementType);

    /// <summary>The string of a string scalar (invalid UTF-8 replaced), else null.</summary>
    public string? AsString() => !IsArray && Strings is { Length: 1 } s ? Encoding.UTF8.GetString(s[0]) : null;

    internal static string Name(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => "u8", GgufValueType.Int8 => "i8", GgufValueType.UInt16 => "u16", GgufValueType.Int16 => "i16",
        GgufValueType.UInt32 => "u32", GgufValueType.Int32 => "i32", GgufValueType.Float32 => "f32", GgufValueType.Bool => "bool",
        GgufValueType.String => "string", GgufValueType.Array => "array", GgufValueType.UInt64 => "u64",
        GgufValueType.Int64 => "i64", GgufValueType.Float64 => "f64", _ => $"type {(uint)t}",
    };
}

/// <summary>One entry of a GGUF tensor table: name, shape (fastest-varying dimension first), ggml type, offset in the data section.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Dims">Elements per dimension, fastest-varying first (an (out, in) matrix is [in, out]).</param>
/// <param name="Type">The ggml type number.</param>
/// <param name="Offset">Byte offset from the start of the data section.</param>
/// <param name="Bytes">Size of the tensor's data in bytes.</param>
public sealed record GgufTensorInfo(string Name, long[] Dims, uint Type, long Offset, long Bytes)
{
    /// <summary>The shape as llama.cpp prints it: [d0, d1, …].</summary>
    public string Shape => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// The header of a GGUF file — metadata key–values and the tensor table — read in C# with every length, count, type,
/// offset and size checked against the file before anything is allocated or trusted. This is the structural half of
/// <see cref="GgufValidator"/>: llama.cpp's own reader asserts (aborting the process) on some of these, and what it
/// refuses gracefully it reports without the reason, so the file is read here first. A malformed file is a one-line
/// <see cref="InputException"/> naming the file and the key or tensor. Tensor data is not read.
/// </summary>
public sealed class GgufFile
{
    /// <summary>The magic number, "GGUF" little-endian.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>Default alignment of tensor data when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;
    /// <summary>ggml's limit on a tensor name, terminator included.</summary>
    public const int MaxTensorName = 64;
    /// <summary>ggml's limit on a tensor's dimensions.</summary>
    public const int MaxDims = 4;
    // The format's own limits on one string and one array (llama.cpp refuses more).
    private const long MaxStringLength = 1L << 30;
    private const long MaxArrayElements = 1L << 30;

    /// <summary>(elements per block, bytes per block) of each ggml type llama.cpp reads; null where a number is unused or removed.</summary>
    private static readonly (int Block, int Size)?[] TypeTraits =
    [
        (1, 4), (1, 2), (32, 18), (32, 20), null, null, (32, 22), (32, 24), (32, 34), (32, 36),       // F32 F16 Q4_0 Q4_1 - - Q5_0 Q5_1 Q8_0 Q8_1
        (256, 84), (256, 110), (256, 144), (256, 176), (256, 210), (256, 292),                        // Q2_K … Q8_K
        (256, 66), (256, 74), (256, 98), (256, 50), (32, 18), (256, 110), (256, 82), (256, 136),       // IQ2_XXS IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS
        (1, 1), (1, 2), (1, 4), (1, 8), (1, 8), (256, 56), (1, 2),                                     // I8 I16 I32 I64 F64 IQ1_M BF16
        null, null, null, (256, 54), (256, 66), null, null, null, (32, 17), (64, 36),                  // - - - TQ1_0 TQ2_0 - - - MXFP4 NVFP4
    ];

    private readonly Dictionary<string, GgufValue> _metadata;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    private GgufFile(string path, uint version, Dictionary<string, GgufValue> metadata, List<GgufTensorInfo> tensors, long dataOffset, long fileLength)
    {
        Path = path;
        Version = version;
        _metadata = metadata;
        Tensors = tensors;
        _tensorsByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        DataOffset = dataOffset;
        FileLength = fileLength;
    }

    /// <summary>The file, as given.</summary>
    public string Path { get; }
    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; }
    /// <summary>Metadata, by key.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata => _metadata;
    /// <summary>The tensor table, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    /// <summary>File offset of the data section.</summary>
    public long DataOffset { get; }
    /// <summary>Length of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? Tensor(string name) => _tensorsByName.GetValueOrDefault(name);

    /// <summary>The metadata value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Value(string key) => _metadata.GetValueOrDefault(key);

    /// <summary>(elements per block, bytes per block) of a ggml type, or null if llama.cpp does not read it.</summary>
    public static (int Block, int Size)? Traits(uint type) => type < TypeTraits.Length ? TypeTraits[type] : null;

    /// <summary>Reads and checks the header of <paramref name="path"/> (see the type's summary).</summary>
    public static GgufFile Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var r = new Reader(stream, path);
        if (r.Remaining < 4 || r.U32() != Magic) throw r.Fail("not a GGUF file (no GGUF magic)");
        if (r.Remaining < 4 + 8 + 8) throw r.Fail("the GGUF header is truncated");
        uint version = r.U32();
        if (version is not (2 or 3)) throw r.Fail($"GGUF version {version} is not supported (llama.cpp reads versions 2 and 3)");
        long tensorCount = r.I64(), kvCount = r.I64();
        // The smallest key–value is 8 (key length) + 1 (key) + 4 (type) + 1 (a u8) bytes; the smallest tensor entry
        // 8 + 1 + 4 (n_dims) + 4 (type) + 8 (offset): counts beyond what the file can hold are refused before any allocation.
        if (kvCount < 0 || kvCount > r.Remaining / 14) throw r.Fail($"the header declares {kvCount} metadata entries; the file ({r.Length} bytes) cannot hold that many");
        if (tensorCount < 0 || tensorCount > r.Remaining / 25) throw r.Fail($"the header declares {tensorCount} tensors; the file ({r.Length} bytes) cannot hold that many");

        var metadata = new Dictionary<string, GgufValue>((int)kvCount, StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            string key = r.Utf8(r.Str($"metadata key {i}"), $"metadata key {i}");
            if (key.Length == 0) throw r.Fail($"metadata key {i} is empty");
            if (metadata.ContainsKey(key)) throw r.Fail($"metadata key '{key}' appears twice");
            metadata[key] = ReadValue(r, key);
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var align))
        {
            if (align.IsArray || align.ElementType != GgufValueType.UInt32) throw r.Fail($"metadata key 'general.alignment' is {align.TypeName}, not u32");
            long a = align.Integers![0];
            if (a <= 0 || (a & (a - 1)) != 0 || a > 1 << 20) throw r.Fail($"metadata key 'general.alignment' is {a}, not a power of two (up to 2^20)");
            alignment = (int)a;
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            var rawName = r.Str($"the name of tensor {i}");
            string name = r.Utf8(rawName, $"the name of tensor {i}");
            if (rawName.Length >= MaxTensorName) throw r.Fail($"tensor {i} has a name of {rawName.Length} bytes; ggml allows at most {MaxTensorName - 1}");
            if (!names.Add(name)) throw r.Fail($"tensor '{name}' appears twice in the tensor table");
            uint nDims = r.Need(4, $"tensor '{name}'").U32();
            if (nDims > MaxDims) throw r.Fail($"tensor '{name}' has {nDims} dimensions; ggml allows at most {MaxDims}");
            r.Need(8L * nDims + 4 + 8, $"tensor '{name}'");
            var dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                dims[d] = r.I64();
                if (dims[d] < 0) throw r.Fail($"tensor '{name}' has dimension {d} = {dims[d]} (negative)");
                // Beyond the file's size in bytes no tensor of any type fits: refuse before the product can overflow.
                if (dims[d] > 0 && elements > 0 && elements > r.Length * 8 / dims[d]) throw r.Fail($"tensor '{name}' has shape {Format(dims[..(d + 1)])}…, more elements than the file ({r.Length} bytes) can hold");
                elements *= dims[d];
            }
            uint type = r.U32();
            if (Traits(type) is not { } traits) throw r.Fail($"tensor '{name}' has ggml type {type}, which llama.cpp does not read");
            long rowElements = nDims == 0 ? 1 : dims[0];
            if (rowElements % traits.Block != 0) throw r.Fail($"tensor '{name}' of ggml type {type} has {rowElements} elements per row, not a multiple of its block size {traits.Block}");
            long bytes = elements / traits.Block * traits.Size;
            ulong offset = r.U64();
            tensors.Add(new GgufTensorInfo(name, dims, type, offset > long.MaxValue ? long.MaxValue : (long)offset, bytes));
        }

        long dataOffset = tensorCount > 0 ? Align(r.Position, alignment) : r.Position;
        // llama.cpp's rule: each tensor's data follows the previous one's, padded to the alignment.
        long expected = 0;
        foreach (var t in tensors)
        {
            if (t.Offset != expected) throw r.Fail($"tensor '{t.Name}' has data offset {t.Offset}; the tensor table implies {expected} (offsets must follow each other, aligned to {alignment} bytes)");
            if (t.Bytes > r.Length - dataOffset - t.Offset) throw r.Fail($"tensor '{t.Name}' ({t.Shape}, {t.Bytes} bytes at offset {dataOffset + t.Offset}) extends beyond the end of the file ({r.Length} bytes): the file is truncated or corrupt");
            expected = Align(t.Offset + t.Bytes, alignment);
        }
        return new GgufFile(path, version, metadata, tensors, dataOffset, r.Length);
    }

    private static GgufValue ReadValue(Reader r, string key)
    {
        var type = (GgufValueType)r.Need(4, $"metadata key '{key}'").U32();
        if (type == GgufValueType.Array)
        {
            var element = (GgufValueType)r.Need(4 + 8, $"metadata key '{key}'").U32();
            ulong n = r.U64();
            if (element == GgufValueType.Array) throw r.Fail($"metadata key '{key}' is an array of arrays, which GGUF does not allow");
            int size = ScalarSize(element) ?? (element == GgufValueType.String ? 8 : throw r.Fail($"metadata key '{key}' has unknown element type {(uint)element}"));
            if (n > MaxArrayElements || (long)n > r.Remaining / size) throw r.Fail($"metadata key '{key}' declares {n} elements; the rest of the file ({r.Remaining} bytes) cannot hold them");
            return ReadElements(r, key, type, element, (int)n);
        }
        if (type != GgufValueType.String && ScalarSize(type) is null) throw r.Fail($"metadata key '{key}' has unknown type {(uint)type}");
        return ReadElements(r, key, type, type, 1);
    }

    private static GgufValue ReadElements(Reader r, string key, GgufValueType type, GgufValueType element, int n)
    {
        if (element == GgufValueType.String)
        {
            var strings = new byte[n][];
            for (int i = 0; i < n; i++) strings[i] = r.Str(n == 1 && type != GgufValueType.Array ? $"metadata key '{key}'" : $"metadata key '{key}' element {i}");
            return new GgufValue(type, element, null, null, strings);
        }
        r.Need((long)n * ScalarSize(element)!.Value, $"metadata key '{key}'");
        if (element is GgufValueType.Float32 or GgufValueType.Float64)
        {
            var floats = new double[n];
            for (int i = 0; i < n; i++) floats[i] = element == GgufValueType.Float32 ? r.F32() : r.F64();
            return new GgufValue(type, element, null, floats, null);
        }
        var ints = new long[n];
        for (int i = 0; i < n; i++)
            ints[i] = element switch
            {
                GgufValueType.UInt8 or GgufValueType.Bool => r.U8(),
                GgufValueType.Int8 => (sbyte)r.U8(),
                GgufValueType.UInt16 => r.U16(),
                GgufValueType.Int16 => (short)r.U16(),
                GgufValueType.UInt32 => r.U32(),
                GgufValueType.Int32 => (int)r.U32(),
                GgufValueType.UInt64 => r.U64() is var u && u > long.MaxValue ? long.MaxValue : (long)u,
                _ => r.I64(),
            };
        return new GgufValue(type, element, ints, null, null);
    }

    private static int? ScalarSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => null,
    };

    private static long Align(long x, int alignment) => (x + alignment - 1) / alignment * alignment;

    private static string Format(long[] dims) => "[" + string.Join(", ", dims) + "]";

    /// <summary>Little-endian reads with the remaining length checked first, so no length read from the file is trusted.</summary>
    private sealed class Reader(Stream stream, string path)
    {
        private readonly BinaryReader _r = new(stream, Encoding.UTF8, leaveOpen: true);
        private static readonly UTF8Encoding StrictUtf8 = new(false, true);

        public long Length { get; } = stream.Length;
        public long Position { get; private set; }
        public long Remaining => Length - Position;

        public InputException Fail(string what) => new($"{path}: {GgufValidator.OneLine(what)}");

        public Reader Need(long bytes, string what)
        {
            if (bytes > Remaining) throw Fail($"{what} is truncated (the file ends {Remaining} bytes after offset {Position}, {bytes} needed)");
            return this;
        }

        public byte U8() { Position += 1; return _r.ReadByte(); }
        public ushort U16() { Position += 2; return _r.ReadUInt16(); }
        public uint U32() { Position += 4; return _r.ReadUInt32(); }
        public ulong U64() { Position += 8; return _r.ReadUInt64(); }
        public long I64() { Position += 8; return _r.ReadInt64(); }
        public float F32() { Position += 4; return _r.ReadSingle(); }
        public double F64() { Position += 8; return _r.ReadDouble(); }

        /// <summary>A length-prefixed string's bytes; the length is checked against the file before reading.</summary>
        public byte[] Str(string what)
        {
            Need(8, what);
            ulong n = U64();
            if (n > MaxStringLength || (long)n > Remaining) throw Fail($"{what} declares a string of {n} bytes; the rest of the file is {Remaining} bytes");
            Position += (long)n;
            return _r.ReadBytes((int)n);
        }

        public string Utf8(byte[] bytes, string what)
        {
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException) { throw Fail($"{what} is not valid UTF-8"); }
        }
    }
}
