"""Stage 4, report: from the numbers of the earlier stages to what a reader sees.

`verdict` (does a model localize, in words generated from its errors), `replicates` (mean and 95 %
confidence interval over seed replicates), `tables` (the result tables' rows, markdown and CSV), `inputs` (the
input check's table rows and page section), `card` (the explanation report card's table, verdicts and page
section), `components` (the sound components' table and page section), `plots` and `card_plots` (figures and
audio) and `page` (the results page). The last
stage: it may import the core and every earlier stage, and no stage imports it.
"""
