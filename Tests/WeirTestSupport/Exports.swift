// The tests' seeded generator is Weir's one SplitMix64.
@_exported public import WeirRandom
