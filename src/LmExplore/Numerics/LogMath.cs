using System.Numerics.Tensors;

namespace LmExplore.Numerics;

/// <summary>Log-space helpers. Everything that could overflow (exp(r/β) with β = 1e-4) goes through here.</summary>
public static class LogMath
{
    /// <summary>Block length of the vectorized kernels: they work through their input in stack buffers of this many
    /// doubles, so they allocate nothing whatever the length.</summary>
    internal const int Chunk = 512;

    /// <summary>log Σ exp(v_i), stable for any finite inputs; −∞ for an empty span or all −∞; +∞/NaN propagate.
    /// Vectorized (max, then exp of the shifted values in blocks), allocation-free.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return double.NegativeInfinity;
        double max = TensorPrimitives.Max(values);
        if (double.IsNegativeInfinity(max)) return double.NegativeInfinity;
        if (!double.IsFinite(max)) return max;
        Span<double> buffer = stackalloc double[Chunk];
        double sum = 0;
        for (int i = 0; i < values.Length; i += Chunk)
        {
            var src = values.Slice(i, Math.Min(Chunk, values.Length - i));
            var b = buffer[..src.Length];
            TensorPrimitives.Subtract(src, max, b);
            TensorPrimitives.Exp(b, b);
            sum += TensorPrimitives.Sum(b);
        }
        return max + Math.Log(sum);
    }

    /// <summary>log(exp(a) + exp(b)).</summary>
    public static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        return a > b ? a + PreciseMath.Log1P(Math.Exp(b - a)) : b + PreciseMath.Log1P(Math.Exp(a - b));
    }

    /// <summary>Online log-sum-exp accumulator (one pass, no buffer).</summary>
    public struct Accumulator
    {
        private double _max;
        private double _sum;
        private bool _any;

        /// <summary>Adds exp(v) to the running sum.</summary>
        public void Add(double v)
        {
            if (double.IsNegativeInfinity(v)) return;
            if (!_any) { _max = v; _sum = 1; _any = true; return; }
            if (v <= _max) _sum += Math.Exp(v - _max);
            else { _sum = _sum * Math.Exp(_max - v) + 1; _max = v; }
        }

        /// <summary>log of the sum so far (−∞ if nothing was added).</summary>
        public readonly double Value => _any ? _max + Math.Log(_sum) : double.NegativeInfinity;
    }
}
