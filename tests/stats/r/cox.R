# Reference values for reportgen.analysis.coxph: coxph(), cox.zph() and anova() from R's survival.
#
# Usage:
#   python tests/stats/r/export_datasets.py /tmp/rdata && Rscript tests/stats/r/cox.R /tmp/rdata tests/stats/fixtures/cox.json
#
# Reads lung.csv and gbsg2.csv (lifelines' copies, exported by export_datasets.py) so that R and
# Python compute on identical rows. Writes one JSON file (jsonlite, digits = NA: full precision).
# Every model entry records the exact R call, the design columns R used (model.matrix) and the
# rows R dropped for missing values, so the Python test can build the identical design.
# lung: status 1 = death, 0 = censored; sex 1 = male, 2 = female (numeric, as in R's lung).
# gbsg2: factors are given explicit levels; the first level is the reference:
#   horTh (no, yes), menostat (Pre, Post), tgrade (I, II, III).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript cox.R DATADIR OUT.json")
datadir <- args[1]
outfile <- args[2]

lung <- read.csv(file.path(datadir, "lung.csv"))
gbsg2 <- read.csv(file.path(datadir, "gbsg2.csv"))
gbsg2$horTh <- factor(gbsg2$horTh, levels = c("no", "yes"))
gbsg2$menostat <- factor(gbsg2$menostat, levels = c("Pre", "Post"))
gbsg2$tgrade <- factor(gbsg2$tgrade, levels = c("I", "II", "III"))

# Edge-case covariates (documented again in the fixture's "designs" section).
# cens_only: 1 for patients censored at day 300 or later; no patient with cens_only = 1 dies, so
# its coefficient diverges to -Inf (monotone likelihood).
lung$cens_only <- as.integer(lung$status == 0 & lung$time >= 300)
# age2: an exact copy of age (aliased column).
lung$age2 <- lung$age

datasets <- list(lung = lung, gbsg2 = gbsg2)

# ---------------------------------------------------------------------------------------------
# helpers

test_vec <- function(stat, df) {
  list(stat = unname(stat), df = unname(df), p = pchisq(unname(stat), unname(df), lower.tail = FALSE))
}

zph_table <- function(z) {
  tab <- z$table
  rows <- rownames(tab)
  terms <- lapply(rows[rows != "GLOBAL"], function(r) {
    list(term = r, chisq = tab[r, "chisq"], df = tab[r, "df"], p = tab[r, "p"])
  })
  list(
    terms = terms,
    global = list(chisq = tab["GLOBAL", "chisq"], df = tab["GLOBAL", "df"], p = tab["GLOBAL", "p"])
  )
}

zph_detail <- function(z) {
  # scaled Schoenfeld residuals (one column per term), transformed and raw event times,
  # in R's order (stratum, then time), plus the matrix used for plot bands.
  list(
    x = I(unname(z$x)), time = I(unname(z$time)),
    y = lapply(seq_len(ncol(z$y)), function(j) I(unname(z$y[, j]))),
    var = lapply(seq_len(nrow(z$var)), function(i) I(unname(z$var[i, ]))),
    strata = if (is.null(z$strata)) NULL else as.character(z$strata)
  )
}

capture_fit <- function(expr) {
  warns <- character(0)
  fit <- withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(fit = fit, warnings = warns)
}

describe_fit <- function(id, call_text, data_name, strata, fit, warnings, zph = c("km"), detail = FALSE) {
  s <- summary(fit)
  cf <- s$coefficients
  b <- unname(coef(fit))
  se <- unname(sqrt(diag(fit$var)))
  se[is.na(b)] <- NA
  z <- qnorm(0.975)
  mm <- model.matrix(fit)
  na <- fit$na.action
  assign <- fit$assign
  terms <- lapply(names(assign), function(nm) list(term = nm, columns = I(unname(assign[[nm]]) - 1L)))
  out <- list(
    id = id,
    call = call_text,
    data = data_name,
    ties = fit$method,
    columns = I(colnames(mm)),
    design_colsums = I(unname(colSums(mm))),
    dropped_rows = I(if (is.null(na)) integer(0) else unname(as.integer(na))),
    strata = strata,
    terms = terms,
    coef = I(b),
    exp_coef = I(exp(b)),
    se = I(se),
    z = I(unname(cf[, "z"])),
    p = I(unname(cf[, "Pr(>|z|)"])),
    ci_lower = I(exp(b - z * se)),
    ci_upper = I(exp(b + z * se)),
    loglik0 = fit$loglik[1],
    loglik = fit$loglik[2],
    lr_test = list(stat = unname(s$logtest["test"]), df = unname(s$logtest["df"]), p = unname(s$logtest["pvalue"])),
    # fit$wald.test is unrounded (summary() rounds the statistic to 2 decimals for printing)
    wald_test = test_vec(fit$wald.test, s$waldtest["df"]),
    score_test = list(stat = unname(s$sctest["test"]), df = unname(s$sctest["df"]), p = unname(s$sctest["pvalue"])),
    concordance = unname(fit$concordance["concordance"]),
    concordance_se = unname(fit$concordance["std"]),
    n = fit$n,
    nevent = fit$nevent,
    iterations = fit$iter,
    var = lapply(seq_len(nrow(fit$var)), function(i) I(unname(fit$var[i, ]))),
    warnings = I(warnings)
  )
  zl <- list()
  for (tr in zph) {
    zz <- cox.zph(fit, transform = tr)
    entry <- zph_table(zz)
    entry$call <- sprintf("cox.zph(fit, transform = '%s')", tr)
    if (detail && tr == "km") entry$detail <- zph_detail(zz)
    zl[[tr]] <- entry
  }
  out$zph <- zl
  out
}

# ---------------------------------------------------------------------------------------------
# main models, both ties methods

specs <- list(
  list(id = "lung_sex", data = "lung", f = "Surv(time, status) ~ sex", strata = NULL, zph = "km", detail = FALSE),
  list(id = "lung_sex_age_ecog", data = "lung", f = "Surv(time, status) ~ sex + age + ph.ecog", strata = NULL, zph = "km", detail = FALSE),
  list(id = "lung_sex_age_fecog", data = "lung", f = "Surv(time, status) ~ sex + age + factor(ph.ecog)", strata = NULL, zph = c("km", "identity"), detail = TRUE),
  list(id = "lung_sex_strata_ecog", data = "lung", f = "Surv(time, status) ~ sex + strata(ph.ecog)", strata = "ph.ecog", zph = "km", detail = TRUE),
  list(id = "gbsg2_full", data = "gbsg2", f = "Surv(time, cens) ~ horTh + age + menostat + tsize + tgrade + pnodes + progrec + estrec", strata = NULL, zph = c("km", "identity"), detail = TRUE),
  # edge cases
  list(id = "lung_separation", data = "lung", f = "Surv(time, status) ~ sex + cens_only", strata = NULL, zph = "km", detail = FALSE),
  list(id = "lung_collinear", data = "lung", f = "Surv(time, status) ~ sex + age + age2", strata = NULL, zph = "km", detail = FALSE)
)

models <- list()
for (sp in specs) {
  for (ties in c("efron", "breslow")) {
    dat <- datasets[[sp$data]]
    call_text <- sprintf("coxph(%s, data = %s, ties = '%s')", sp$f, sp$data, ties)
    res <- capture_fit(coxph(as.formula(sp$f), data = dat, ties = ties))
    models[[length(models) + 1]] <- describe_fit(
      paste0(sp$id, "_", ties), call_text, sp$data, sp$strata, res$fit, res$warnings,
      zph = sp$zph, detail = sp$detail && ties == "efron"
    )
  }
}

# ---------------------------------------------------------------------------------------------
# subgroups: horTh within each level of menostat and of tgrade (efron)

subgroups <- list()
for (v in c("menostat", "tgrade")) {
  for (lev in levels(gbsg2[[v]])) {
    sub <- gbsg2[gbsg2[[v]] == lev, ]
    fit <- coxph(Surv(time, cens) ~ horTh, data = sub, ties = "efron")
    b <- unname(coef(fit))
    se <- unname(sqrt(diag(fit$var)))
    s <- summary(fit)
    subgroups[[length(subgroups) + 1]] <- list(
      variable = v, level = lev,
      call = sprintf("coxph(Surv(time, cens) ~ horTh, data = subset(gbsg2, %s == '%s'), ties = 'efron')", v, lev),
      coef = b, se = se, hr = exp(b),
      ci_lower = exp(b - qnorm(0.975) * se), ci_upper = exp(b + qnorm(0.975) * se),
      p = unname(s$coefficients[, "Pr(>|z|)"]),
      loglik = fit$loglik[2], n = fit$n, nevent = fit$nevent
    )
  }
}

# ---------------------------------------------------------------------------------------------
# interaction likelihood-ratio tests

interactions <- list()
for (v in c("menostat", "tgrade")) {
  f0 <- as.formula(sprintf("Surv(time, cens) ~ horTh + %s", v))
  f1 <- as.formula(sprintf("Surv(time, cens) ~ horTh * %s", v))
  m0 <- coxph(f0, data = gbsg2, ties = "efron")
  m1 <- coxph(f1, data = gbsg2, ties = "efron")
  a <- anova(m0, m1)
  interactions[[length(interactions) + 1]] <- list(
    variable = v,
    call = sprintf("anova(coxph(Surv(time, cens) ~ horTh + %s, data = gbsg2), coxph(Surv(time, cens) ~ horTh * %s, data = gbsg2))", v, v),
    reduced_columns = I(colnames(model.matrix(m0))),
    full_columns = I(colnames(model.matrix(m1))),
    loglik_reduced = m0$loglik[2], loglik_full = m1$loglik[2],
    chisq = a[2, "Chisq"], df = a[2, "Df"], p = a[2, "Pr(>|Chi|)"]
  )
}

# ---------------------------------------------------------------------------------------------
# the data R used, as a numeric matrix per dataset (NA -> null), with how each column is built

lung_design <- list(
  description = list(
    time = "lung$time (days)",
    status = "lung$status (1 = death, 0 = censored)",
    sex = "lung$sex, numeric (1 = male, 2 = female)",
    age = "lung$age (years)",
    ph.ecog = "lung$ph.ecog, numeric 0-3 (one missing value)",
    `factor(ph.ecog)1` = "1 if ph.ecog == 1 else 0 (reference level 0; missing where ph.ecog is missing)",
    `factor(ph.ecog)2` = "1 if ph.ecog == 2 else 0",
    `factor(ph.ecog)3` = "1 if ph.ecog == 3 else 0 (a single patient)",
    cens_only = "1 if status == 0 and time >= 300 else 0 (a level without events)",
    age2 = "an exact copy of age (aliased)"
  ),
  columns = list(
    time = lung$time, status = lung$status, sex = lung$sex, age = lung$age,
    ph.ecog = lung$ph.ecog,
    `factor(ph.ecog)1` = ifelse(is.na(lung$ph.ecog), NA, as.integer(lung$ph.ecog == 1)),
    `factor(ph.ecog)2` = ifelse(is.na(lung$ph.ecog), NA, as.integer(lung$ph.ecog == 2)),
    `factor(ph.ecog)3` = ifelse(is.na(lung$ph.ecog), NA, as.integer(lung$ph.ecog == 3)),
    cens_only = lung$cens_only, age2 = lung$age2
  )
)
gbsg2_design <- list(
  description = list(
    time = "gbsg2$time (days)",
    cens = "gbsg2$cens (1 = event, 0 = censored)",
    horThyes = "1 if horTh == 'yes' else 0 (reference 'no')",
    age = "gbsg2$age",
    menostatPost = "1 if menostat == 'Post' else 0 (reference 'Pre')",
    tsize = "gbsg2$tsize",
    tgradeII = "1 if tgrade == 'II' else 0 (reference 'I')",
    tgradeIII = "1 if tgrade == 'III' else 0",
    pnodes = "gbsg2$pnodes", progrec = "gbsg2$progrec", estrec = "gbsg2$estrec",
    `horThyes:menostatPost` = "horThyes * menostatPost",
    `horThyes:tgradeII` = "horThyes * tgradeII",
    `horThyes:tgradeIII` = "horThyes * tgradeIII"
  ),
  columns = list(
    time = gbsg2$time, cens = gbsg2$cens,
    horThyes = as.integer(gbsg2$horTh == "yes"), age = gbsg2$age,
    menostatPost = as.integer(gbsg2$menostat == "Post"), tsize = gbsg2$tsize,
    tgradeII = as.integer(gbsg2$tgrade == "II"), tgradeIII = as.integer(gbsg2$tgrade == "III"),
    pnodes = gbsg2$pnodes, progrec = gbsg2$progrec, estrec = gbsg2$estrec,
    `horThyes:menostatPost` = as.integer(gbsg2$horTh == "yes") * as.integer(gbsg2$menostat == "Post"),
    `horThyes:tgradeII` = as.integer(gbsg2$horTh == "yes") * as.integer(gbsg2$tgrade == "II"),
    `horThyes:tgradeIII` = as.integer(gbsg2$horTh == "yes") * as.integer(gbsg2$tgrade == "III")
  )
)

out <- list(
  meta = list(
    generated_by = "tests/stats/r/cox.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    data = "lifelines' lung and gbsg2, written by tests/stats/r/export_datasets.py",
    note = paste(
      "coef/se/z/p/ci are per design column (NA for an aliased column).",
      "wald_test$stat is fit$wald.test (unrounded). concordance is fit$concordance['concordance'],",
      "concordance_se is fit$concordance['std']. iterations is fit$iter.",
      "terms[].columns are 0-based column indices (fit$assign).",
      "zph detail y has one array per term (scaled Schoenfeld residuals), var is cox.zph()$var."
    )
  ),
  designs = list(lung = lung_design, gbsg2 = gbsg2_design),
  models = models,
  subgroups = subgroups,
  interactions = interactions
)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE), outfile)
cat("wrote", outfile, "\n")
