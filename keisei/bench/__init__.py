"""Benchmarks (`keisei bench env|learn|search|train|parallel`): figures for the README and notes, never
asserted by a test. Registered in one place, keisei/commands/bench.py; each module's ``main(args)`` runs one.

The package sits above every other (it drives the trainer, the evaluator and the search together), and no
package below imports it.
"""
