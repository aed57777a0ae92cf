using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace LmExplore.Instances;

/// <summary>Element types of a .npy array this reader accepts.</summary>
public enum NpyType
{
    /// <summary>Little-endian IEEE float64 (<c>'&lt;f8'</c>).</summary>
    Float64,
    /// <summary>Little-endian int64 (<c>'&lt;i8'</c>), converted to double on reading.</summary>
    Int64,
}

/// <summary>The header of one .npy array: its element type and shape (C order).</summary>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
public sealed record NpyHeader(NpyType Type, long[] Shape)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long Count
    {
        get
        {
            long n = 1;
            foreach (long s in Shape) n = checked(n * s);
            return n;
        }
    }

    /// <summary>The shape as numpy prints it: <c>(3, 4)</c>, <c>(5,)</c>, <c>()</c>.</summary>
    public string ShapeText => Shape.Length == 1 ? $"({Shape[0]},)" : "(" + string.Join(", ", Shape) + ")";
}

/// <summary>
/// Reads numpy's .npy format (versions 1–3; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// the magic <c>\x93NUMPY</c>, a version, a header length and a Python dict literal
/// <c>{'descr': '&lt;f8', 'fortran_order': False, 'shape': (3, 4), }</c>, then the raw elements.
/// Only little-endian float64 and int64 in C order are accepted; everything else is a one-line
/// <see cref="InputException"/> naming the array. Elements are read straight into the destination's memory.
/// </summary>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Longest header accepted (numpy's own limit for version 1 is 65 535 bytes; real headers are ~128).</summary>
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>Reads the header from <paramref name="stream"/>, leaving it at the first element. <paramref name="where"/>
    /// prefixes every message (e.g. <c>file.npz: features</c>).</summary>
    public static NpyHeader ReadHeader(Stream stream, string where, out int headerBytes)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (ReadFully(stream, prefix[..10]) < 10 || !prefix[..6].SequenceEqual(Magic))
            throw Fail(where, "not a .npy array (bad magic bytes)");
        byte major = prefix[6];
        int length;
        Encoding encoding;
        switch (major)
        {
            case 1:
                length = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..10]);
                encoding = Encoding.Latin1;
                headerBytes = 10 + length;
                break;
            case 2:
            case 3:
                if (ReadFully(stream, prefix[10..12]) < 2) throw Fail(where, "malformed .npy header (truncated)");
                uint len32 = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..12]);
                if (len32 > MaxHeaderBytes) throw Fail(where, $"malformed .npy header (header length {len32})");
                length = (int)len32;
                encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
                headerBytes = 12 + length;
                break;
            default:
                throw Fail(where, $"unsupported .npy format version {major}.{prefix[7]} (1.0, 2.0 and 3.0 are read)");
        }
        var text = new byte[length];
        if (ReadFully(stream, text) < length) throw Fail(where, "malformed .npy header (truncated)");
        return ParseHeader(encoding.GetString(text), where);
    }

    /// <summary>Parses the header dict literal (see the class summary).</summary>
    public static NpyHeader ParseHeader(string text, string where)
    {
        var p = new DictParser(text, where);
        string? descr = null;
        bool? fortran = null;
        long[]? shape = null;
        p.Expect('{');
        while (!p.TryConsume('}'))
        {
            string key = p.String();
            p.Expect(':');
            switch (key)
            {
                case "descr" when descr is null: descr = p.String(); break;
                case "fortran_order" when fortran is null: fortran = p.Bool(); break;
                case "shape" when shape is null: shape = p.Tuple(); break;
                default: throw p.Malformed(descr is not null && key == "descr" || fortran is not null && key == "fortran_order" || shape is not null && key == "shape"
                    ? $"key '{key}' given twice" : $"unexpected key '{key}'");
            }
            if (!p.TryConsume(',')) { p.Expect('}'); break; }
        }
        p.End();
        if (descr is null || fortran is null || shape is null)
            throw p.Malformed($"missing key '{(descr is null ? "descr" : fortran is null ? "fortran_order" : "shape")}'");
        if (fortran.Value)
            throw Fail(where, "is stored in Fortran order; save it in C order (e.g. np.ascontiguousarray(a))");
        var type = descr switch
        {
            "<f8" => NpyType.Float64,
            "<i8" => NpyType.Int64,
            ">f8" or ">i8" => throw Fail(where, $"dtype '{descr}' is big-endian; only little-endian '<f8' (float64) and '<i8' (int64) are read"),
            _ => throw Fail(where, $"dtype '{descr}' is not supported; only '<f8' (float64) and '<i8' (int64) are read (use a.astype(np.float64))"),
        };
        return new NpyHeader(type, shape);
    }

    /// <summary>Reads <paramref name="destination"/>.Length elements of <paramref name="type"/> as doubles, in bulk: the
    /// bytes land directly in the destination's memory (int64 is then converted in place).</summary>
    public static void ReadElements(Stream stream, NpyType type, Span<double> destination, string where)
    {
        var bytes = MemoryMarshal.AsBytes(destination);
        if (ReadFully(stream, bytes) < bytes.Length) throw Fail(where, "data is truncated (the .npy holds fewer elements than its shape says)");
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<double, long>(destination);
            for (int i = 0; i < raw.Length; i++) raw[i] = BinaryPrimitives.ReverseEndianness(raw[i]);
        }
        if (type == NpyType.Int64)
        {
            var ints = MemoryMarshal.Cast<double, long>(destination);
            for (int i = 0; i < ints.Length; i++) destination[i] = ints[i];   // same slot: read before written
        }
    }

    /// <summary>Writes a version-1.0 header for a little-endian float64 C-order array of <paramref name="shape"/>,
    /// padded with spaces so that the data starts on a 64-byte boundary (as numpy does).</summary>
    public static void WriteHeader(Stream stream, ReadOnlySpan<long> shape)
    {
        string dims = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape.ToArray()) + ")";
        string dict = $"{{'descr': '<f8', 'fortran_order': False, 'shape': {dims}, }}";
        int total = 10 + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string text = dict + new string(' ', padded - total) + "\n";
        Span<byte> prefix = stackalloc byte[10];
        Magic.CopyTo(prefix);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], (ushort)text.Length);
        stream.Write(prefix);
        stream.Write(Encoding.Latin1.GetBytes(text));
    }

    /// <summary>Writes <paramref name="values"/> as little-endian float64 elements.</summary>
    public static void WriteElements(Stream stream, ReadOnlySpan<double> values)
    {
        if (BitConverter.IsLittleEndian) { stream.Write(MemoryMarshal.AsBytes(values)); return; }
        Span<byte> b = stackalloc byte[8];
        foreach (double v in values) { BinaryPrimitives.WriteDoubleLittleEndian(b, v); stream.Write(b); }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    private static int ReadFully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private static InputException Fail(string where, string what) => new($"{where}: {what}");

    /// <summary>A tokenizer for the few Python literals a .npy header uses.</summary>
    private ref struct DictParser(string text, string where)
    {
        private readonly string _text = text;
        private readonly string _where = where;
        private int _pos;

        public InputException Malformed(string what) => Fail(_where, $"malformed .npy header ({what})");

        private void SkipSpace()
        {
            while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
        }

        public bool TryConsume(char c)
        {
            SkipSpace();
            if (_pos < _text.Length && _text[_pos] == c) { _pos++; return true; }
            return false;
        }

        public void Expect(char c)
        {
            if (!TryConsume(c)) throw Malformed(_pos < _text.Length ? $"expected '{c}' at offset {_pos}, found '{_text[_pos]}'" : $"expected '{c}', header ends");
        }

        public void End()
        {
            SkipSpace();
            if (_pos != _text.Length) throw Malformed($"unexpected text after the dict at offset {_pos}");
        }

        public string String()
        {
            SkipSpace();
            if (_pos >= _text.Length || _text[_pos] is not ('\'' or '"')) throw Malformed($"expected a quoted string at offset {_pos}");
            char quote = _text[_pos++];
            int start = _pos;
            while (_pos < _text.Length && _text[_pos] != quote) _pos++;
            if (_pos >= _text.Length) throw Malformed("unterminated string");
            return _text[start.._pos++];
        }

        public bool Bool()
        {
            SkipSpace();
            if (string.CompareOrdinal(_text, _pos, "True", 0, 4) == 0) { _pos += 4; return true; }
            if (string.CompareOrdinal(_text, _pos, "False", 0, 5) == 0) { _pos += 5; return false; }
            throw Malformed($"expected True or False at offset {_pos}");
        }

        public long[] Tuple()
        {
            Expect('(');
            var dims = new List<long>();
            while (!TryConsume(')'))
            {
                SkipSpace();
                int start = _pos;
                while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
                if (start == _pos || !long.TryParse(_text.AsSpan(start, _pos - start), out long v))
                    throw Malformed($"expected a non-negative integer in the shape at offset {start}");
                if (_pos < _text.Length && _text[_pos] == 'L') _pos++;   // Python 2 long suffix
                dims.Add(v);
                if (!TryConsume(',')) { Expect(')'); break; }
            }
            return [.. dims];
        }
    }
}
