using System.Runtime.CompilerServices;

namespace LmExplore.Numerics;

/// <summary>
/// Seeded, splittable pseudo-random generator (xoshiro256** seeded by SplitMix64).
/// A run's randomness is a tree of generators derived by <see cref="Split(ulong)"/>, so a result
/// depends only on its seed and the keys on its path — never on thread scheduling or call order
/// in sibling branches.
/// </summary>
/// <remarks>We keep our own generator rather than MathNet's because splitting by key is what makes
/// parallel sweeps bit-for-bit reproducible, and the hot path must not allocate.</remarks>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private readonly ulong _seed;

    /// <summary>Creates a generator whose whole stream is fixed by <paramref name="seed"/>.</summary>
    public Rng(ulong seed)
    {
        _seed = seed;
        ulong sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 0x9E3779B97F4A7C15UL;
    }

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed => _seed;

    /// <summary>An independent child generator determined by this generator's seed and <paramref name="key"/>
    /// (not by how much of this generator's stream has been consumed).</summary>
    public Rng Split(ulong key) => new(Mix(_seed, key));

    /// <summary>An independent child generator keyed by a string (e.g. "phase1", "eval").</summary>
    public Rng Split(string key) => Split(HashString(key));

    /// <summary>Derives a child seed from a parent seed and a key (stable across platforms and versions).</summary>
    public static ulong Mix(ulong seed, ulong key)
    {
        ulong z = seed ^ (key * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return SplitMix64(ref z);
    }

    /// <summary>64-bit FNV-1a hash of a string's UTF-16 code units (stable across runs, unlike string.GetHashCode).</summary>
    public static ulong HashString(string key)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in key)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }
        return h;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        ulong result = Step(ref s0, ref s1, ref s2, ref s3);
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
        return result;
    }

    /// <summary>One xoshiro256** step on a state held anywhere (fields, or locals kept in registers by <see cref="Fill"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ref ulong s0, ref ulong s1, ref ulong s2, ref ulong s3)
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>The next destination.Length words of the stream, exactly as that many <see cref="NextUInt64"/> calls
    /// would return them; the state stays in registers for the whole loop.</summary>
    internal void Fill(Span<ulong> destination)
    {
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        for (int i = 0; i < destination.Length; i++) destination[i] = Step(ref s0, ref s1, ref s2, ref s3);
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
    }

    /// <summary>The generator's position in its stream, to return to with <see cref="Rewind"/> (a batched consumer that
    /// read ahead and must instead replay the words one at a time).</summary>
    internal (ulong, ulong, ulong, ulong) Position => (_s0, _s1, _s2, _s3);

    /// <summary>Returns to a <see cref="Position"/> taken earlier.</summary>
    internal void Rewind((ulong, ulong, ulong, ulong) position) => (_s0, _s1, _s2, _s3) = position;

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform double in (0, 1]: safe to take the logarithm of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDoubleOpenZero() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n) without modulo bias (Lemire's method).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "n must be positive");
        ulong m = (ulong)(uint)NextUInt64() * (uint)n;
        uint low = (uint)m;
        if (low < (uint)n)
        {
            uint threshold = (uint)(-n) % (uint)n;
            while (low < threshold)
            {
                m = (ulong)(uint)NextUInt64() * (uint)n;
                low = (uint)m;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Standard normal draw (Box–Muller; one of the pair is discarded to keep the state simple).</summary>
    public double NextGaussian()
    {
        double u1 = NextDoubleOpenZero();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
