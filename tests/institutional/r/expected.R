# Reference values for tests/institutional/test_funnel.py: expected deaths from a Cox model, as
# predict(coxph, type = "expected"), per patient and summed by institution (the "unit").
# Usage: Rscript tests/institutional/r/expected.R DATADIR OUT.json (DATADIR from tests/stats/r/export_datasets.py)
library(survival)
library(jsonlite)
args <- commandArgs(trailingOnly = TRUE)
lung <- read.csv(file.path(args[1], "lung.csv"))
d <- lung[complete.cases(lung[, c("inst", "time", "status", "age", "sex", "ph.ecog")]), ]
out <- list(
  r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
  call = "predict(coxph(Surv(time, status) ~ age + I(sex == 2) + ph.ecog, data = d, ties = t), type = 'expected')",
  data = d[, c("inst", "time", "status", "age", "sex", "ph.ecog")]
)
for (t in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + I(sex == 2) + ph.ecog, data = d, ties = t)
  e <- predict(fit, type = "expected")
  by <- tapply(e, d$inst, sum)
  out[[t]] <- list(first10 = unname(e[1:10]), by_inst = as.list(by))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, dataframe = "rows"), args[2])
