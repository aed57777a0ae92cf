using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Support;

/// <summary>A counting oracle for tests: forwards everything to the learner's environment and keeps its own count of
/// answered Sample calls, of the responses Enumerate returned and of reward queries, to compare with the Meter.</summary>
internal sealed class CountingEnvironment(ILearnerEnvironment inner) : ILearnerEnvironment
{
    public long Samples { get; private set; }
    public long Enumerated { get; private set; }
    public long Queries { get; private set; }

    public Meter Meter => inner.Meter;
    public double Beta => inner.Beta;
    public int Dimension => inner.Dimension;
    public bool CanEnumerate => inner.CanEnumerate;
    public Prompt DrawPrompt(Rng rng) => inner.DrawPrompt(rng);
    public ReadOnlySpan<double> Features(Response response) => inner.Features(response);

    public Response Sample(Prompt prompt, Rng rng)
    {
        var y = inner.Sample(prompt, rng);    // a refused call (budget) throws and is not counted
        Samples++;
        return y;
    }

    public Response[] Enumerate(Prompt prompt)
    {
        var all = inner.Enumerate(prompt);
        Enumerated += all.Length;
        return all;
    }

    public double Query(Response response)
    {
        double r = inner.Query(response);
        Queries++;
        return r;
    }
}
