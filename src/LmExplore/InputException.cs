namespace LmExplore;

/// <summary>Thrown for bad user input (files, parameters, flags). The CLI prints its one-line message and exits with code 2.</summary>
public sealed class InputException(string message) : Exception(message);
