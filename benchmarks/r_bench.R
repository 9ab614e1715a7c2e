# R reference timing for benchmarks/run.py: the same CSV through survival's survfit, survdiff and coxph.
# Usage: Rscript benchmarks/r_bench.R COHORT.csv OUT.json
# Writes elapsed seconds per step (read.csv, survfit + survdiff, coxph), the coefficients, the
# log-rank statistic and the concordance, as JSON written by hand (no package besides survival).
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]
out <- args[2]
suppressPackageStartupMessages(library(survival))
now <- function() proc.time()[["elapsed"]]

t0 <- now()
d <- read.csv(csv)
d$arm <- factor(d$arm, levels = c("Control", "Experimental"))
d$sex <- factor(d$sex, levels = c("Male", "Female"))
d$ecog <- factor(d$ecog, levels = c(0, 1, 2))
d$stage <- factor(d$stage, levels = c("II", "III", "IV"))
d$smoking <- factor(d$smoking, levels = c("Never", "Former", "Current"))
d$diabetes <- factor(d$diabetes, levels = c("No", "Yes"))
t1 <- now()
km <- survfit(Surv(os_days, os_event) ~ arm, data = d, conf.type = "log-log")
lr <- survdiff(Surv(os_days, os_event) ~ arm, data = d)
t2 <- now()
cx <- coxph(
  Surv(os_days, os_event) ~ arm + age + sex + ecog + stage + bmi + smoking + diabetes + ldh + albumin + comorbidities,
  data = d, ties = "efron"
)
t3 <- now()

num <- function(x) formatC(x, digits = 17, format = "g")
coefs <- coef(cx)
json <- paste0(
  "{\n",
  '  "r_version": "', R.version$major, ".", R.version$minor, '",\n',
  '  "survival_version": "', as.character(packageVersion("survival")), '",\n',
  '  "n": ', nrow(d), ",\n",
  '  "seconds": {"read": ', num(t1 - t0), ', "survfit_survdiff": ', num(t2 - t1),
  ', "coxph": ', num(t3 - t2), ', "total": ', num(t3 - t0), "},\n",
  '  "logrank_chisq": ', num(lr$chisq), ",\n",
  '  "median": [', paste(num(summary(km)$table[, "median"]), collapse = ", "), "],\n",
  '  "concordance": ', num(cx$concordance[["concordance"]]), ",\n",
  '  "coxph_n": ', cx$n, ",\n",
  '  "coef": {', paste0('"', names(coefs), '": ', num(coefs), collapse = ", "), "}\n",
  "}\n"
)
writeLines(json, out)
