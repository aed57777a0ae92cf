using System.Globalization;
using CsCheck;
using LmExplore.Experiments;

namespace LmExplore.Tests;

/// <summary>
/// The one option binder: one number rule for every option (an integer is any decimal that denotes one exactly, a
/// real what double parsing reads, finite), bounds, names (unknown, duplicate, case-insensitive for families) and
/// messages that name the owner, the option, the value and what is accepted.
/// </summary>
public class OptionReaderTests
{
    private static Dictionary<string, string> P(params string[] kv) =>
        kv.ToDictionary(s => s[..s.IndexOf('=')], s => s[(s.IndexOf('=') + 1)..]);

    private static OptionReader Algo(params string[] kv) => OptionReader.ForAlgorithm("spanner", P(kv));

    private static InputException Refused(Action read)
    {
        var e = Assert.Throws<InputException>(read);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Theory]
    [InlineData("2000", 2000L)]
    [InlineData("2e3", 2000L)]
    [InlineData("2.0e3", 2000L)]
    [InlineData("2E+3", 2000L)]
    [InlineData("2.50e1", 25L)]
    [InlineData("20000e-1", 2000L)]
    [InlineData(".5e1", 5L)]
    [InlineData("5.", 5L)]
    [InlineData("+7", 7L)]
    [InlineData("-7", -7L)]
    [InlineData(" 12 ", 12L)]
    [InlineData("0e999999999999", 0L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("9.223372036854775807e18", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Integer_AcceptsEveryDecimalThatDenotesOneExactly(string text, long expected)
        => Assert.Equal(expected, Algo("n=" + text).IntegerOrNull("n", long.MinValue, long.MaxValue));

    [Theory]
    [InlineData("8.7")]
    [InlineData("1e400")]
    [InlineData("1e-3")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("2.0000000000000001")]  // a double would round it to 2
    [InlineData("inf")]
    [InlineData("Infinity")]
    [InlineData("NaN")]
    [InlineData("0x10")]
    [InlineData("1_000")]
    [InlineData("1,000")]
    [InlineData("1e")]
    [InlineData("e3")]
    [InlineData(".")]
    [InlineData("--1")]
    [InlineData("")]
    [InlineData(" ")]
    public void Integer_RefusesAnythingElse_NamingOwnerOptionValueAndRange(string text)
    {
        var e = Refused(() => Algo("pairs=" + text).IntegerOrNull("pairs", long.MinValue, long.MaxValue));
        Assert.Equal($"spanner: algo-param 'pairs' must be an integer in [{long.MinValue}, {long.MaxValue}], got '{text}'", e.Message);
    }

    [Fact]
    public void Integer_OutsideItsRange_IsRefusedWithTheRange()
    {
        Assert.Equal("spanner: algo-param 'steps' must be an integer in [1, 100], got '1e3'",
            Refused(() => Algo("steps=1e3").Integer("steps", 4, 1, 100)).Message);
        Assert.Equal("spanner: algo-param 'steps' must be an integer in [1, 100], got '0'",
            Refused(() => Algo("steps=0").Integer("steps", 4, 1, 100)).Message);
        Assert.Equal(100, Algo("steps=1e2").Integer("steps", 4, 1, 100));
        Assert.Equal(1, Algo("steps=1").Integer("steps", 4, 1, 100));
    }

    [Fact]
    public void Fallbacks_AreReturnedWhenAbsent()
    {
        var p = Algo();
        Assert.Null(p.IntegerOrNull("a", 0, 10));
        Assert.Equal(99, p.Integer("b", 99, 0, 10)); // a fallback is the owner's own choice: not checked against the range
        Assert.Equal(7L, p.Integer("c", 7L, 0L, 10L));
        Assert.Null(p.RealOrNull("d"));
        Assert.Equal(0.25, p.Real("e", 0.25, 0, 1));
        Assert.Null(p.BooleanOrNull("f"));
        Assert.True(p.Boolean("g", true));
        Assert.Equal("x", p.Choice("h", "x", "x", "y"));
        Assert.Null(p.Text("i"));
        Assert.Equal("dflt", p.Text("j", "dflt"));
        Assert.Equal(42UL, p.Seed("seed", 42));
        p.RejectUnknown();
    }

    /// <summary>Any integer in range, written plainly, with ".0", or as mantissa·10^exp with the point anywhere, binds to itself.</summary>
    [Fact]
    public void Integer_AnyNotationOfAnIntegerInRange_BindsToIt()
    {
        Gen.Select(Gen.Long, Gen.Int[0, 18], Gen.Int[0, 3]).Sample((n, shift, zeros) =>
        {
            string digits = n == long.MinValue ? "9223372036854775808" : Math.Abs(n).ToString(CultureInfo.InvariantCulture);
            string sign = n < 0 ? "-" : "";
            int k = Math.Min(shift, digits.Length - 1);
            string mantissa = k == 0 ? digits + "." : digits[..^k] + "." + digits[^k..];
            string padding = new('0', zeros);
            foreach (var text in new[]
                     {
                         n.ToString(CultureInfo.InvariantCulture),
                         $"{n.ToString(CultureInfo.InvariantCulture)}.0",
                         $"{sign}{mantissa}e{k}",
                         $"{sign}{mantissa}{padding}E+{k}",         // zeros after the point change nothing
                         $"{sign}{digits}{padding}e-{zeros}",      // zeros before it are divided out again
                     })
                Assert.Equal(n, Algo("n=" + text).IntegerOrNull("n", long.MinValue, long.MaxValue));
        }, iter: 2000);
    }

    [Fact]
    public void Integer_Int32Overload_ReadsTheSameNumbers()
    {
        Gen.Int[1, int.MaxValue].Sample(n =>
            Assert.Equal(n, OptionReader.ForFamily("linear", P($"d={n:E15}"), ["d"]).Integer("d", 8, 1, int.MaxValue)), iter: 500);
    }

    /// <summary>A real is exactly what double parsing reads: the same bits as before the binder existed.</summary>
    [Fact]
    public void Real_IsTheDoubleThatDoubleParsingReads()
    {
        Gen.Double.Where(double.IsFinite).Sample(x =>
        {
            foreach (var text in new[] { x.ToString("R", CultureInfo.InvariantCulture), x.ToString("E10", CultureInfo.InvariantCulture), x.ToString("F3", CultureInfo.InvariantCulture) })
            {
                double expected = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(Algo("x=" + text).RealOrNull("x")!.Value));
            }
        }, iter: 2000);
    }

    [Theory]
    [InlineData("0", false, "(0, 1]")]
    [InlineData("-1e-300", false, "(0, 1]")]
    [InlineData("1.0000000000000002", false, "(0, 1]")]
    [InlineData("abc", false, "(0, 1]")]
    [InlineData("inf", false, "(0, 1]")]
    [InlineData("NaN", false, "(0, 1]")]
    [InlineData("1e400", false, "(0, 1]")]
    [InlineData("", false, "(0, 1]")]
    [InlineData("1", true, "(0, 1)")]
    public void Real_OutsideItsBounds_IsRefusedWithTheBounds(string text, bool maxExclusive, string range)
    {
        var e = Refused(() => Algo("delta=" + text).RealOrNull("delta", 0, 1, minExclusive: true, maxExclusive: maxExclusive));
        Assert.Equal($"spanner: algo-param 'delta' must be a finite number in {range}, got '{text}'", e.Message);
    }

    [Fact]
    public void Real_BoundsAreInclusiveUnlessSaidOtherwise()
    {
        Assert.Equal(0, Algo("x=0").Real("x", 5, 0, 1));
        Assert.Equal(1, Algo("x=1").Real("x", 5, 0, 1));
        Assert.Equal(1e-300, Algo("x=1e-300").Real("x", 5, 0, 1, minExclusive: true));
        Assert.Equal(-1e300, Algo("x=-1e300").Real("x", 5));
        Assert.Equal("needle: parameter 'R' must be a finite number in (0, inf), got '0'",
            Refused(() => OptionReader.ForFamily("needle", P("R=0"), ["R"]).Real("R", 1, 0, double.PositiveInfinity, minExclusive: true)).Message);
        Assert.Equal("spanner: algo-param 'x' must be a finite number, got 'inf'", Refused(() => Algo("x=inf").Real("x", 5)).Message);
        Assert.Equal("spanner: algo-param 'x' must be a finite number in [0, inf), got '-1'", Refused(() => Algo("x=-1").Real("x", 5, 0)).Message);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData(" false ", false)]
    [InlineData("0", false)]
    [InlineData("No", false)]
    public void Boolean_Accepts(string text, bool expected) => Assert.Equal(expected, Algo("anytime=" + text).BooleanOrNull("anytime"));

    [Fact]
    public void Boolean_RefusesAnythingElse()
        => Assert.Equal("spanner: algo-param 'anytime' must be true or false, got 'maybe'", Refused(() => Algo("anytime=maybe").Boolean("anytime", true)).Message);

    [Fact]
    public void Choice_IsCaseInsensitiveAndReturnedAsSpelledByTheOwner()
    {
        Assert.Equal("bt", Algo("loss=BT").Choice("loss", "regression", "regression", "bt"));
        Assert.Equal("regression", Algo("loss= Regression ").Choice("loss", "bt", "regression", "bt"));
        Assert.Equal("spanner: algo-param 'loss' must be one of regression, bt, got 'hinge'",
            Refused(() => Algo("loss=hinge").Choice("loss", "regression", "regression", "bt")).Message);
    }

    [Fact]
    public void Text_IsKeptVerbatim()
    {
        const string command = " python3 check.py --x=1 \"a b\" ";
        Assert.Equal(command, new OptionReader("letters", "text-task parameter", new Dictionary<string, string> { ["verifier"] = command }, ["verifier"]).Text("verifier"));
    }

    [Theory]
    [InlineData("0", 0UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("1e3", 1000UL)]
    [InlineData("7", 7UL)]
    public void Seed_IsAnUnsigned64BitInteger(string text, ulong expected)
        => Assert.Equal(expected, OptionReader.ForFamily("linear", P("seed=" + text), ["seed"]).Seed("seed", 1));

    [Theory]
    [InlineData("-3")]
    [InlineData("18446744073709551616")]
    [InlineData("1.5")]
    [InlineData("abc")]
    public void Seed_RefusesAnythingElse(string text)
        => Assert.Equal($"linear: parameter 'seed' must be an unsigned 64-bit integer in [0, 18446744073709551615], got '{text}'",
            Refused(() => OptionReader.ForFamily("linear", P("seed=" + text), ["seed"]).Seed("seed", 1)).Message);

    [Fact]
    public void UnknownNames_AreRefusedListingTheKnownOnes()
    {
        // Declared up front: refused when the reader is made.
        Assert.Equal("needle: unknown parameter 'foo' (known: R, beta)",
            Refused(() => OptionReader.ForFamily("needle", P("beta=1", "foo=2"), ["R", "beta"])).Message);
        // Declared by reading: refused by RejectUnknown, listing what was read.
        var p = Algo("epsilon=0.1", "nuu=2");
        p.Real("epsilon", 0.01, 0, 1);
        p.RealOrNull("nu", 0, 1);
        Assert.Equal("spanner: unknown algo-param 'nuu' (known: epsilon, nu)", Refused(p.RejectUnknown).Message);
        // A read counts whether or not the option was given, and Has is a read.
        var q = Algo("a=1");
        Assert.True(q.Has("a"));
        q.RejectUnknown();
    }

    [Fact]
    public void AlgorithmNames_AreExact()
    {
        var p = Algo("Epsilon=0.1");
        Assert.Equal(0.01, p.Real("epsilon", 0.01, 0, 1));
        Assert.Contains("unknown algo-param 'Epsilon'", Refused(p.RejectUnknown).Message);
    }

    [Fact]
    public void FamilyNames_MatchCaseInsensitively_ExactFirst()
    {
        string[] known = ["R", "beta", "B", "b"];
        var p = OptionReader.ForFamily("needle", P("r=2", "BETA=0.5", "b=3"), known);
        Assert.Equal(2, p.Real("R", 1));
        Assert.Equal(0.5, p.Real("beta", 0.1));
        Assert.Equal(3, p.Real("b", 1));   // the exact spelling wins over a case-insensitive one
        Assert.Equal(1, p.Real("B", 1));
        p.RejectUnknown();
    }

    [Fact]
    public void DuplicateNames_AreRefused()
    {
        Assert.Equal("needle: parameter 'R' given twice (as 'r' and 'R')",
            Refused(() => OptionReader.ForFamily("needle", P("r=2", "R=3"), ["R"])).Message);
        Assert.Equal("spanner: algo-param 'epsilon' given twice (as 'epsilon' and 'epsilon ')",
            Refused(() => OptionReader.ForAlgorithm("spanner", new Dictionary<string, string> { ["epsilon"] = "1", ["epsilon "] = "2" })).Message);
    }

    [Fact]
    public void AKnownNameGivenButNeverRead_IsRefused()
    {
        var p = new OptionReader("letters", "text-task parameter", P("feature-command=x"), ["features", "feature-command"]);
        Assert.Equal("hashed", p.Choice("features", "hashed", "hashed", "command"));
        Assert.Equal("letters: text-task parameter 'feature-command' has no effect here", Refused(p.RejectUnknown).Message);
    }

    [Fact]
    public void ReadingANameOutsideTheDeclaredList_IsABugNotBadInput()
        => Assert.Throws<ArgumentException>(() => OptionReader.ForFamily("needle", P(), ["R"]).Real("r", 1));
}
