using LmExplore.Instances;

namespace LmExplore.Tests.Support;

/// <summary>
/// A deliberately different implementation of docs/FRAMEWORK.md's formulas, used as the reference for
/// <see cref="LmExplore.Evaluation.ExactEvaluator"/>: rewards are recomputed from the raw features and θ* with a
/// compensated dot product (not read from <see cref="EnumerablePrompt.Rewards"/>), log Z uses two passes
/// (max shift, then Neumaier-compensated sum of exp), π* is materialized explicitly and every expectation is a
/// compensated sum. It shares no code with the library beyond reading the instance's inputs.
/// </summary>
public static class IndependentEvaluator
{
    /// <summary>Reference numbers for one instance.</summary>
    public sealed record Result(double JOpt, double JRef, double LogCCov, double AverageCoverage, double[] LogZ);

    /// <summary>Evaluates J_β(π*), J_β(π_ref), log C_cov(π*) and E_x E_{π*}[π*/π_ref].</summary>
    public static Result Evaluate(EnumerableInstance instance)
    {
        double beta = instance.Beta;
        var jOpt = new NeumaierSum();
        var jRef = new NeumaierSum();
        var avg = new NeumaierSum();
        double logC = double.NegativeInfinity;
        var logZs = new double[instance.Prompts.Count];
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            int n = p.ResponseCount;
            var r = new double[n];
            for (int y = 0; y < n; y++) r[y] = CompensatedDot(p.FeatureRow(y), instance.Theta);
            // Pass 1: the shift.
            var s = new double[n];
            double max = double.NegativeInfinity;
            for (int y = 0; y < n; y++) { s[y] = p.LogRefProbs[y] + r[y] / beta; if (s[y] > max) max = s[y]; }
            // Pass 2: compensated sum of the shifted exponentials.
            var z = new NeumaierSum();
            for (int y = 0; y < n; y++) z.Add(Math.Exp(s[y] - max));
            double logZ = max + Math.Log(z.Value);
            logZs[x] = logZ;
            if (!(p.Weight > 0)) continue;
            // π* explicitly; J(π*) from its definition E_{π*} r − β KL(π*‖π_ref) as a cross-check of β log Z.
            var eRef = new NeumaierSum();
            var eAvg = new NeumaierSum();
            for (int y = 0; y < n; y++)
            {
                double logRatio = r[y] / beta - logZ;               // log π*/π_ref
                double piStar = Math.Exp(p.LogRefProbs[y] + logRatio);
                eRef.Add(Math.Exp(p.LogRefProbs[y]) * r[y]);
                eAvg.Add(piStar * Math.Exp(logRatio));
                if (logRatio > logC) logC = logRatio;
            }
            jOpt.Add(p.Weight * beta * logZ);
            jRef.Add(p.Weight * eRef.Value);
            avg.Add(p.Weight * eAvg.Value);
        }
        return new Result(jOpt.Value, jRef.Value, logC, avg.Value, logZs);
    }

    /// <summary>J_β(π) = E_x E_π[r − β(log π − log π_ref)] with compensated sums.</summary>
    public static double Value(EnumerableInstance instance, double[][] logPi)
    {
        var j = new NeumaierSum();
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (!(p.Weight > 0)) continue;
            var e = new NeumaierSum();
            for (int y = 0; y < p.ResponseCount; y++)
            {
                double r = CompensatedDot(p.FeatureRow(y), instance.Theta);
                e.Add(Math.Exp(logPi[x][y]) * (r - instance.Beta * (logPi[x][y] - p.LogRefProbs[y])));
            }
            j.Add(p.Weight * e.Value);
        }
        return j.Value;
    }

    /// <summary>Σ a_i b_i with Neumaier compensation.</summary>
    public static double CompensatedDot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var s = new NeumaierSum();
        for (int i = 0; i < a.Length; i++) s.Add(a[i] * b[i]);
        return s.Value;
    }

    /// <summary>Neumaier's improved Kahan summation.</summary>
    public struct NeumaierSum
    {
        private double _sum, _c;

        /// <summary>Adds a term.</summary>
        public void Add(double v)
        {
            double t = _sum + v;
            if (Math.Abs(_sum) >= Math.Abs(v)) _c += (_sum - t) + v; else _c += (v - t) + _sum;
            _sum = t;
        }

        /// <summary>The compensated sum.</summary>
        public readonly double Value => _sum + _c;
    }
}
