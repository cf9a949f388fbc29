"""What content authors run on the question bank (`s2q bank ...`, `s2q match`), on the listener's own matcher.

commands: the CLI handlers. workbench: one role's bank, index and matcher. search, dupes, heldout
(`bank test`), stats, new: one command each. Every decision shown comes from
`pipeline.retrieval.matcher`, so what authors see is what the listener does. docs/authoring.md is the guide.
"""
