import os
from pipeline.retrieval.index import AlertClassifier
w = os.environ.get("RFW")
if w:
    AlertClassifier.NEAR_MISS_WEIGHT = {**AlertClassifier.NEAR_MISS_WEIGHT, "red_flag": float(w)}
c = os.environ.get("RFC")
if c:
    AlertClassifier.C = float(c)
