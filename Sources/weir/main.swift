import WeirCLI

await WeirCommand.runMain()
