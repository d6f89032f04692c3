namespace FerService.Inference;

/// <summary>What a face's class probabilities say: the most probable label, its probability, and whether the card flags it uncertain.</summary>
public readonly record struct EmotionLabel(int Index, string Emotion, float Confidence, bool Uncertain);
