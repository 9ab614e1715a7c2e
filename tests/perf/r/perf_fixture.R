# Reference numbers for tests/perf on the ties-heavy synthetic cohort (10^5 rows, whole months).
# Usage:
#   python tests/perf/r/export_synthetic.py build/perf_months.csv
#   Rscript tests/perf/r/perf_fixture.R build/perf_months.csv tests/perf/fixtures/synthetic_1e5_months.json
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$arm <- factor(d$arm, levels = c("Control", "Experimental"))
d$sex <- factor(d$sex, levels = c("Male", "Female"))
d$ecog <- factor(d$ecog, levels = c(0, 1, 2))

calls <- list(
  survfit = "survfit(Surv(months, os_event) ~ arm, data = d, conf.type = 'log-log')",
  survdiff = "survdiff(Surv(months, os_event) ~ arm, data = d)",
  coxph = "coxph(Surv(months, os_event) ~ arm + age + sex + ecog + ldh, data = d, ties = 'efron')",
  cox_zph = "cox.zph(fit, transform = 'km', terms = FALSE)",
  coxph_breslow = "coxph(Surv(months, os_event) ~ arm + age + sex + ecog + ldh, data = d, ties = 'breslow')"
)
km <- eval(parse(text = calls$survfit))
lr <- eval(parse(text = calls$survdiff))
fit <- eval(parse(text = calls$coxph))
zph <- eval(parse(text = calls$cox_zph))
bres <- eval(parse(text = calls$coxph_breslow))
tab <- summary(km)$table
at <- summary(km, times = c(6, 12, 24, 36))

out <- list(
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  survival_version = as.character(packageVersion("survival")),
  n_rows = nrow(d),
  data_md5 = unname(tools::md5sum(args[1])),
  calls = calls,
  survfit = list(
    median = unname(tab[, "median"]), lower = unname(tab[, "0.95LCL"]), upper = unname(tab[, "0.95UCL"]),
    times = at$time, strata = as.character(at$strata), surv = at$surv, surv_lower = at$lower,
    surv_upper = at$upper, n_risk = at$n.risk
  ),
  survdiff = list(chisq = lr$chisq, obs = unname(lr$obs), exp = unname(lr$exp)),
  coxph = list(
    n = fit$n, nevent = fit$nevent, coef = unname(coef(fit)), names = names(coef(fit)),
    se = unname(sqrt(diag(fit$var))), loglik = fit$loglik,
    concordance = unname(fit$concordance["concordance"]), concordance_se = unname(fit$concordance["std"])
  ),
  cox_zph = list(chisq = unname(zph$table[, "chisq"]), names = rownames(zph$table)),
  coxph_breslow = list(coef = unname(coef(bres)), se = unname(sqrt(diag(bres$var))), loglik = bres$loglik)
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), args[2])
