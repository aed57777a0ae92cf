using LmExplore.Runs;
using System.Numerics;
using System.Numerics.Tensors;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// The proper methods (onlinedpo, xpo) and the optimal-design reference, and the dnf family. The losses are
/// checked against finite differences, OnlineDPO against θ*, the meter against a counting oracle, and the collapsed dnf
/// instance against a brute-force one over all 2ⁿ assignments.
/// </summary>
public class ProperMethodsTests
{
    private static PairData RandomPairs(Rng rng, int d, int count, bool signs)
    {
        var pairs = new PairData(d);
        var v = new double[d];
        for (int i = 0; i < count; i++)
        {
            for (int a = 0; a < d; a++) v[a] = rng.NextGaussian();
            pairs.Add(v, signs ? (rng.NextDouble() < 0.5 ? 1 : -1) : rng.NextGaussian());
        }
        return pairs;
    }

    private static void AssertGradient(Func<double[], double> f, double[] theta, double[] gradient, double tolerance)
    {
        const double h = 1e-5;
        for (int a = 0; a < theta.Length; a++)
        {
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[a] += h;
            minus[a] -= h;
            double numeric = (f(plus) - f(minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[a]) <= tolerance * (1 + Math.Abs(numeric)),
                $"coordinate {a}: analytic {gradient[a]}, finite difference {numeric}");
        }
    }

    [Fact]
    public void BradleyTerryGradientAndHessian_MatchFiniteDifferences()
    {
        var rng = new Rng(11);
        int d = 4;
        var pairs = RandomPairs(rng, d, 30, signs: true);
        var theta = new[] { 0.3, -0.7, 1.1, 0.2 };
        double temperature = 0.7, lambda = 0.05;
        var gradient = new double[d];
        PairLoss.BradleyTerry(pairs, theta, temperature, lambda, gradient);
        AssertGradient(t => PairLoss.BradleyTerry(pairs, t, temperature, lambda, []), theta, gradient, 1e-6);

        var hessian = new double[d * d];
        PairLoss.BradleyTerryHessian(pairs, theta, temperature, lambda, hessian);
        for (int b = 0; b < d; b++)
        {
            var column = new double[d];
            for (int a = 0; a < d; a++) column[a] = hessian[a * d + b];
            // Row b of the Hessian is the gradient of the b-th gradient coordinate.
            AssertGradient(t =>
            {
                var g = new double[d];
                PairLoss.BradleyTerry(pairs, t, temperature, lambda, g);
                return g[b];
            }, theta, column, 1e-5);
        }
    }

    [Fact]
    public void RegressionGradient_MatchesFiniteDifferences_AndItsMinimiserIsTheRidgeSolution()
    {
        var rng = new Rng(12);
        int d = 3;
        var pairs = RandomPairs(rng, d, 25, signs: false);
        var theta = new[] { -0.4, 0.9, 0.1 };
        var gradient = new double[d];
        PairLoss.Regression(pairs, theta, 0.1, gradient);
        AssertGradient(t => PairLoss.Regression(pairs, t, 0.1, []), theta, gradient, 1e-6);

        var ridge = new RidgeRegression(d, 0.1);
        for (int i = 0; i < pairs.Count; i++) ridge.Add(pairs.V(i), pairs.Label(i));
        var solution = new double[d];
        ridge.Solve(solution);
        PairLoss.Regression(pairs, solution, 0.1, gradient);
        Assert.True(TensorPrimitives.Norm(gradient) < 1e-9, $"‖∇L‖ = {TensorPrimitives.Norm(gradient)} at the ridge solution");
    }

    [Fact]
    public void XpoRegressionGradient_FromSufficientStatistics_EqualsThePairByPairGradient()
    {
        var rng = new Rng(13);
        int d = 5;
        var pairs = RandomPairs(rng, d, 40, signs: false);
        var gram = new double[d * d];
        var gramLabel = new double[d];
        for (int i = 0; i < pairs.Count; i++)
        {
            var v = pairs.V(i);
            for (int a = 0; a < d; a++)
            {
                for (int b = 0; b < d; b++) gram[a * d + b] += v[a] * v[b];
                gramLabel[a] += pairs.Label(i) * v[a];
            }
        }
        var theta = new[] { 0.2, -1.3, 0.5, 0.05, 0.8 };
        var expected = new double[d];
        var actual = new double[d];
        PairLoss.Regression(pairs, theta, 0.07, expected);
        Xpo.RegressionGradient(gram, gramLabel, theta, 0.07, actual);
        for (int a = 0; a < d; a++) Assert.True(Math.Abs(expected[a] - actual[a]) <= 1e-9 * (1 + Math.Abs(expected[a])), $"coordinate {a}: {expected[a]} vs {actual[a]}");
    }

    [Fact]
    public void XpoOptimismGradient_MatchesFiniteDifferences_WithExactPolicyMeans()
    {
        var instance = TestInstances.Random(5, prompts: 3, responses: 15, d: 4, beta: 0.5, thetaNorm: 1, RefShape.Random);
        var rng = new Rng(13);
        double alpha = 0.3, beta = instance.Beta;
        int d = instance.Dimension;
        // ỹ_i ~ π_ref at prompts x_i (as drawn here: uniformly chosen indices; the formula holds for any ỹ).
        var picks = Enumerable.Range(0, 8).Select(_ => (X: rng.NextInt(3), Y: rng.NextInt(15))).ToArray();

        double Objective(double[] theta)
        {
            double total = 0;
            foreach (var (x, y) in picks)
            {
                var p = instance.Prompts[x];
                var logits = new double[p.ResponseCount];
                for (int j = 0; j < logits.Length; j++) logits[j] = p.LogRefProbs[j] + TensorPrimitives.Dot(theta, p.FeatureRow(j)) / beta;
                total += logits[y] - LogMath.LogSumExp(logits);    // log π_θ(ỹ|x)
            }
            return alpha * total;
        }

        var at = new[] { 0.5, -1.2, 0.8, 0.1 };
        var sumRefPhi = new double[d];
        var meanPolicyPhi = new double[d];
        foreach (var (x, y) in picks)
        {
            TensorPrimitives.Add(sumRefPhi, instance.Prompts[x].FeatureRow(y), sumRefPhi);
            var policy = TabularPolicy.LinearSoftmax(instance, at);
            for (int j = 0; j < instance.Prompts[x].ResponseCount; j++)
                TensorPrimitives.MultiplyAdd(instance.Prompts[x].FeatureRow(j), Math.Exp(policy.LogProbs[x][j]) / picks.Length, meanPolicyPhi, meanPolicyPhi);
        }
        var gradient = new double[d];
        Xpo.AddOptimismGradient(alpha, beta, sumRefPhi, picks.Length, meanPolicyPhi, gradient);
        AssertGradient(Objective, at, gradient, 1e-6);
    }

    [Fact]
    public void OnlineDpo_ConvergesToThetaStar_OnASmallLinearInstance()
    {
        var instance = TestInstances.Random(7, prompts: 2, responses: 30, d: 3, beta: 1, thetaNorm: 1, RefShape.Random);
        var optimum = ExactEvaluator.OptimalValue(instance);
        foreach (var (loss, rounds, tolerance) in new[] { ("regression", 300, 0.05), ("bt", 1000, 0.3) })
        {
            var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
            var algo = AlgorithmRegistry.Create("onlinedpo", new Dictionary<string, string> { ["loss"] = loss, ["rounds"] = rounds.ToString() });
            var output = algo.Run(env, new Rng(2), null, CancellationToken.None);
            var theta = ((SoftmaxOutputPolicy)output.Policy).Theta.ToArray();
            double error = TensorPrimitives.Distance(theta, instance.Theta);
            Assert.True(error < tolerance, $"{loss}: ‖θ̂ − θ*‖ = {error}");
            double suboptimality = optimum - ExactEvaluator.Value(instance, TabularPolicy.LinearSoftmax(instance, theta));
            Assert.True(suboptimality <= 0.01, $"{loss}: J_opt − J(π_θ̂) = {suboptimality}");
        }
    }

    public static TheoryData<string, string, long?, long?> CountedRuns => new()
    {
        { "onlinedpo", "rounds=40", null, null },
        { "onlinedpo", "loss=bt", null, 60L },
        { "onlinedpo", "rounds=1000", 3_000L, null },      // compute budget stops it
        { "xpo", "rounds=40", null, null },
        { "xpo", "alpha=1", null, 60L },
        { "xpo", "rounds=1000", 3_000L, null },
        { "optimaldesign", "", null, 200L },
        { "optimaldesign", "pairs=30", 500L, null },       // cannot even enumerate a prompt twice
    };

    [Theory]
    [MemberData(nameof(CountedRuns))]
    public void MeterChargesExactlyTheCallsTheAlgorithmMade(string algorithm, string algoParam, long? budgetComp, long? budgetData)
    {
        var instance = InstanceCatalog.Create("needle", PolicyFixtures.SmallNeedle(30), 5);
        var meter = new Meter(budgetData, budgetComp);
        var env = new CountingEnvironment(new EnumerableEnvironment(instance, meter, new Rng(1)));
        var parameters = new Dictionary<string, string> { ["epsilon"] = "0.02" };
        if (algoParam.Length > 0) parameters[algoParam.Split('=')[0]] = algoParam.Split('=')[1];
        var output = AlgorithmRegistry.Create(algorithm, parameters).Run(env, new Rng(2), null, CancellationToken.None);
        Assert.True(meter.TComp > 0);
        Assert.Equal(env.Samples + env.Enumerated, meter.TComp);
        Assert.Equal(env.Queries, meter.TData);
        if (budgetComp is long c) Assert.True(meter.TComp <= c);
        if (budgetData is long b) Assert.True(meter.TData <= b);

        var freshMeter = new Meter();
        var fresh = new CountingEnvironment(new EnumerableEnvironment(instance, freshMeter, new Rng(3)));
        var rng = new Rng(4);
        long reported = 0;
        for (int i = 0; i < 10; i++) reported += output.Policy.Sample(fresh, fresh.DrawPrompt(rng), rng).OracleCalls;
        Assert.Equal(reported, freshMeter.TComp);
        Assert.Equal(fresh.Samples, freshMeter.TComp);
    }

    /// <summary>Draws from each new method's output (as <c>run --output-samples</c> makes them) agree with its reported
    /// <c>expected_reward_out</c> within 4 standard errors, on dnf n = 8.</summary>
    [Theory]
    [InlineData("onlinedpo", "")]
    [InlineData("xpo", "alpha=0.3")]
    [InlineData("optimaldesign", "")]
    public void OutputDrawsAgreeWithExpectedRewardOut(string algorithm, string algoParam)
    {
        var algoParams = new Dictionary<string, string>();
        if (algoParam.Length > 0) algoParams[algoParam.Split('=')[0]] = algoParam.Split('=')[1];
        var request = new LmExplore.Runs.RunRequest("dnf", new Dictionary<string, string> { ["n"] = "8" }, algorithm, algoParams, 1, BudgetData: 300);
        var outcome = LmExplore.Experiments.Runner.Execute(request);
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, outcome.Result.Evaluation);
        const int draws = 3000;
        using var text = new StringWriter();
        LmExplore.Experiments.Runner.WriteOutputSamples(outcome, draws, request.Seed, text);
        double sum = 0, sumSquares = 0;
        foreach (var line in text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            double r = ((LmExplore.Runs.EnumerableProblem)outcome.Problem).Instance.Prompts[doc.RootElement.GetProperty("prompt").GetInt32()].Rewards[doc.RootElement.GetProperty("response").GetInt32()];
            sum += r;
            sumSquares += r * r;
        }
        double mean = sum / draws;
        double se = Math.Sqrt(Math.Max(sumSquares / draws - mean * mean, 0) / (draws - 1));
        Assert.True(Math.Abs(mean - outcome.Result.ExpectedRewardOut) <= 4 * se + 1e-9,
            $"{algorithm}: mean reward {mean} vs expected_reward_out {outcome.Result.ExpectedRewardOut} (SE {se})");
    }

    [Fact]
    public void Dnf_PatternsAreAProbabilityDistribution_AndMeetTheRequestedCoverage()
    {
        foreach (var (n, ccov) in new[] { (8, 6.0), (10, 6.0), (12, 20.0) })
        {
            var parameters = new Dictionary<string, string> { ["n"] = n.ToString(), ["ccov"] = ccov.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            var instance = InstanceCatalog.Create("dnf", parameters, 3);
            var prompt = Assert.Single(instance.Prompts);
            Assert.Equal(2 * n, instance.Dimension);
            Assert.Equal(1.0, prompt.LogRefProbs.Sum(Math.Exp), 12);
            Assert.True(prompt.ResponseCount <= Math.Min(1L << n, 1L << Math.Min(62, instance.Dimension)));
            Assert.Equal(ccov, ExactEvaluator.CoverageOfOptimal(instance), 1e-6);
            var histogram = DnfFamily.SatisfiedTermHistogram(instance)!;
            Assert.Equal(1L << n, histogram.Sum());
        }
    }

    [Fact]
    public void Dnf_CollapsedInstance_AgreesWithBruteForceOverAllAssignments()
    {
        const int n = 8;
        const ulong seed = 9;
        var instance = InstanceCatalog.Create("dnf", new Dictionary<string, string> { ["n"] = n.ToString() }, seed);
        int m = instance.Dimension;
        // The same terms, evaluated here per assignment (no collapsing): 2ⁿ responses of mass 2⁻ⁿ.
        var (varMask, want) = DnfFamily.RandomTerms(n, 3, m, new Rng(seed).Split("dnf").Split("terms"));
        Assert.All(varMask, mask => Assert.Equal(3, BitOperations.PopCount(mask)));
        int total = 1 << n;
        var features = new double[total * m];
        for (int a = 0; a < total; a++)
            for (int j = 0; j < m; j++)
            {
                bool satisfied = true;
                for (int i = 0; i < n; i++)
                    if ((varMask[j] >> i & 1) != 0 && ((a >> i & 1) != (want[j] >> i & 1))) satisfied = false;
                features[a * m + j] = satisfied ? 1 : 0;
            }
        var logRef = Enumerable.Repeat(-n * Math.Log(2), total).ToArray();
        var brute = new EnumerableInstance("brute", instance.Beta, instance.Theta, instance.Noise,
            [new EnumerablePrompt(1.0, logRef, features, m, instance.Theta)]);
        Assert.Equal(ExactEvaluator.OptimalValue(brute), ExactEvaluator.OptimalValue(instance), 10);
        Assert.Equal(ExactEvaluator.ReferenceValue(brute), ExactEvaluator.ReferenceValue(instance), 10);
        Assert.Equal(ExactEvaluator.CoverageOfOptimal(brute), ExactEvaluator.CoverageOfOptimal(instance), 8);
    }

    [Theory]
    [InlineData("n=23")]
    [InlineData("k=0")]
    [InlineData("ccov=1e9")]
    [InlineData("construction=planted")]
    public void Dnf_BadParameters_AreOneLineInputErrors(string parameter)
    {
        var kv = parameter.Split('=');
        var e = Assert.Throws<InputException>(() => InstanceCatalog.Create("dnf", new Dictionary<string, string> { [kv[0]] = kv[1] }, 0));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("onlinedpo", "loss", "huber")]
    [InlineData("xpo", "alpha", "-1")]
    [InlineData("optimaldesign", "pairs", "0")]
    public void BadAlgoParams_AreInputErrors(string algorithm, string key, string value) =>
        Assert.Throws<InputException>(() => AlgorithmRegistry.Create(algorithm, new Dictionary<string, string> { [key] = value }));
}
