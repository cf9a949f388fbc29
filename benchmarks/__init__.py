"""Research harnesses: measurements behind benchmarks/results/, run from a checkout, not shipped.

    python -m benchmarks.speakers      # and the others: see the README's benchmark list

They build the engine the way the product does (`pipeline.session.build.engine_for`). `s2q bench`
(the user-facing benchmark) stays in the package, in pipeline/bench/.
"""
