using System.Numerics.Tensors;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>
/// The truncated anchored score of SpannerSampling's and MTSS's samplers, for one anchor y':
/// <code>f(y) = ⟨θ, φ(y) − φ(y')⟩ · 1[‖φ(y) − φ(y')‖²_{Σ⁻¹} ≤ ν²]</code>
/// <see cref="Evaluate"/> is its one implementation, for both levels: responses of a prompt (this struct, which the
/// envelope sampler's loop inlines), next tokens after a prefix (<see cref="TruncatedTokenPolicy"/>), and the token
/// level's exact law. The truncation test is <see cref="QuadraticForm"/>'s vᵀΣ⁻¹v against ν², the number the
/// spanner's own test and the sequence level's exact law (<see cref="AnchoredTruncatedPolicy.Law"/>, through
/// <see cref="QuadraticForm.EvaluateMany"/>) compare, so a response on the ν boundary is kept or cut alike in the
/// sampler, its law and the algorithm. O(d²) per call and allocation-free (it writes v into a caller-owned scratch
/// buffer of length d).
/// </summary>
public readonly struct TruncatedAnchoredScore : IResponseScore
{
    private readonly ILearnerEnvironment _env;
    private readonly double[] _theta, _anchor, _sigmaInverse, _scratch;
    private readonly double _nuSquared;

    /// <summary>Creates f with anchor features φ(x,y'), Σ_span⁻¹ (row-major d×d) and ν².</summary>
    public TruncatedAnchoredScore(ILearnerEnvironment env, double[] theta, double[] anchorFeatures,
        double[] sigmaInverse, double nuSquared, double[] scratch)
    {
        _env = env;
        _theta = theta;
        _anchor = anchorFeatures;
        _sigmaInverse = sigmaInverse;
        _nuSquared = nuSquared;
        _scratch = scratch;
    }

    /// <inheritdoc />
    public double Score(Response response) => Evaluate(_env.Features(response), _anchor, _theta, _sigmaInverse, _nuSquared, _scratch);

    /// <summary>
    /// f(y) from φ(y) and the anchor's φ(y'), d = θ.Length: v = φ(y) − φ(y') (into <paramref name="scratch"/>), 0 when
    /// vᵀΣ⁻¹v ≤ ν² fails (a NaN form counts as outside), ⟨θ, v⟩ otherwise. An empty <paramref name="sigmaInverse"/>
    /// means no truncation.
    /// </summary>
    public static double Evaluate(ReadOnlySpan<double> phi, ReadOnlySpan<double> anchor, ReadOnlySpan<double> theta,
        ReadOnlySpan<double> sigmaInverse, double nuSquared, Span<double> scratch)
    {
        int d = theta.Length;
        var v = scratch[..d];
        for (int i = 0; i < d; i++) v[i] = phi[i] - anchor[i];
        if (!sigmaInverse.IsEmpty && !(QuadraticForm.Evaluate(sigmaInverse, v) <= nuSquared)) return 0;
        return TensorPrimitives.Dot(theta, v);
    }
}
