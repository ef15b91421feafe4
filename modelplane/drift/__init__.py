"""`modelplane drift`: captured requests of a SageMaker endpoint compared with a training baseline.

Kept free of imports so that `modelplane.drift.metrics`, the contract between the command and the
stack's drift alarms, costs nothing to import.
"""
