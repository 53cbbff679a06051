"""Outside checks of the study: XSTest (over-refusal), SORRY-Bench (fulfilment of unsafe requests)
and downstream ability (lm-evaluation-harness), as library functions and ``psychosafe bench``.

Heavy imports (inspect_ai, lm_eval, torch) happen inside the functions.
"""
