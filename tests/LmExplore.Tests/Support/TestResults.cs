using LmExplore.Evaluation;
using LmExplore.Runs;

namespace LmExplore.Tests.Support;

/// <summary>Builds a <see cref="RunResult"/> from its flat JSON fields, for fakes that stand in for a real run.</summary>
internal static class TestResults
{
    public static RunResult Flat(string Instance, string Algorithm, ulong Seed, double Beta, int D, string Status,
        long TData, long TComp, long TTokens, double JOpt, double JRef, double JOut, double Suboptimality,
        double? SuboptimalityCiLow, double? SuboptimalityCiHigh, double SuboptimalityTarget, double ExpectedRewardOut,
        double Epsilon, bool ReachedEpsilon, string Evaluation, double OutputSampleCost, double CCov, double? CCond,
        double WallSeconds, IReadOnlyDictionary<string, double> Diagnostics) =>
        new(new RunIdentity(Instance, Algorithm, Seed, Epsilon), Status, new ProblemValues(Beta, D, JOpt, JRef, CCov, CCond),
            new RunCosts(TData, TComp, TTokens),
            new RunEvaluation(EvaluationKinds.Parse(Evaluation), JOut, Suboptimality, SuboptimalityCiLow, SuboptimalityCiHigh,
                SuboptimalityTarget, ExpectedRewardOut, ReachedEpsilon, OutputSampleCost),
            WallSeconds, Diagnostics);
}
