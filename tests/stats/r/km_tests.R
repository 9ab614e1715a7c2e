# Reference values for reportgen.analysis.survfit and reportgen.analysis.survdiff.
#
# Usage:
#   python tests/stats/r/export_datasets.py /tmp/rdata && Rscript tests/stats/r/km_tests.R /tmp/rdata tests/stats/fixtures/km_tests.json
#
# Reads lung.csv and gbsg2.csv as exported from lifelines (lung: status 1 = death, 0 = censored;
# sex 1 = male, 2 = female; gbsg2: cens 1 = event), so that R and Python compute on identical rows.
# Every entry records the R call that produced it. Missing values are written as the strings
# "NA" / "NaN" and infinities as "Inf" (jsonlite's na = "string"), numbers at full precision.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript km_tests.R DATADIR OUT.json")
datadir <- args[1]
outfile <- args[2]

lung <- read.csv(file.path(datadir, "lung.csv"))
gbsg2 <- read.csv(file.path(datadir, "gbsg2.csv"))

times_lung <- c(90, 180, 365, 730, 1000)
times_lung_ext <- c(90, 1000, 1022, 1100)  # 1022 is the last observed time; 1100 lies beyond it

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

# The value of a group level as it appears in the data (number or string).
level_value <- function(data, group, label) {
  if (is.null(group)) return(NULL)
  if (is.numeric(data[[group]])) as.numeric(label) else label
}

# One survfit (possibly with strata) split into a list of single curves with their level label.
curves_of <- function(fit) {
  if (is.null(fit$strata)) return(list(list(label = NULL, fit = fit)))
  labs <- sub("^[^=]*=", "", names(fit$strata))
  lapply(seq_along(fit$strata), function(i) list(label = labs[i], fit = fit[i]))
}

step_table <- function(z) {
  list(time = z$time, n_risk = z$n.risk, n_event = z$n.event, n_censor = z$n.censor,
       surv = z$surv, std_err = z$std.err, lower = z$lower, upper = z$upper)
}

# Rows of a summary.survfit object (times = ...) belonging to stratum i (or all of them).
summary_rows <- function(s, i, nstrata) {
  keep <- if (nstrata == 0) rep(TRUE, length(s$time)) else as.integer(s$strata) == i
  list(time = s$time[keep], surv = s$surv[keep], std_err = s$std.err[keep],
       lower = s$lower[keep], upper = s$upper[keep], n_risk = s$n.risk[keep],
       n_event = s$n.event[keep], n_censor = s$n.censor[keep])
}

table_rows <- function(tab) if (is.matrix(tab)) tab else matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))

# Everything we check about one survfit call: per curve the print.survfit table, quantiles,
# landmark summaries (extend FALSE and TRUE), restricted means, and optionally the step table.
km_entry <- function(fit, call, dataname, data, group, conf_type, conf_level, rmeans = c(365, 730),
                     times = times_lung, times_ext = times_lung_ext, steps = TRUE,
                     probs = c(0.25, 0.5, 0.75)) {
  tab <- table_rows(summary(fit)$table)
  lcl <- grep("LCL$", colnames(tab))
  ucl <- grep("UCL$", colnames(tab))
  s1 <- summary(fit, times = times)
  s2 <- summary(fit, times = times_ext, extend = TRUE)
  rm <- lapply(rmeans, function(tau) table_rows(summary(fit, rmean = tau)$table))
  cs <- curves_of(fit)
  nstrata <- if (is.null(fit$strata)) 0 else length(fit$strata)
  groups <- lapply(seq_along(cs), function(i) {
    z <- cs[[i]]$fit
    q <- quantile(z, probs = probs)
    g <- list(
      level = level_value(data, group, cs[[i]]$label),
      n = unname(tab[i, "records"]),
      events = unname(tab[i, "events"]),
      median = unname(tab[i, "median"]),
      median_lower = unname(tab[i, lcl]),
      median_upper = unname(tab[i, ucl]),
      quantile = list(probs = probs, estimate = unname(q$quantile), lower = unname(q$lower),
                      upper = unname(q$upper)),
      summary = summary_rows(s1, i, nstrata),
      summary_extend = summary_rows(s2, i, nstrata),
      rmean = lapply(seq_along(rmeans), function(j) list(
        tau = rmeans[j], rmean = unname(rm[[j]][i, "rmean"]), se = unname(rm[[j]][i, "se(rmean)"])))
    )
    if (steps) g$steps <- step_table(z)
    g
  })
  list(call = call, data = dataname, group = group, conf_type = conf_type,
       conf_level = conf_level, groups = groups)
}

survdiff_entry <- function(sd, call, dataname, group, strata = NULL, rho = 0, n_used) {
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  exp <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(exp > 0) - 1
  list(call = call, data = dataname, group = group, strata = strata, rho = rho, gamma = 0,
       n_used = n_used, levels = sub("^[^=]*=", "", names(sd$n)), n = as.vector(sd$n),
       observed = obs, expected = exp, variance = unname(sd$var), statistic = sd$chisq,
       df = df, p = sd$pvalue)
}

# Fleming-Harrington G(rho, gamma) written out from its definition: weights
# S(t-)^rho (1 - S(t-))^gamma from the pooled Kaplan-Meier curve, the same variance and
# chi-square as survdiff (groups with expected 0 dropped, then the first group).
# It is checked against survdiff for gamma = 0 below before its gamma > 0 values are kept.
fh_by_hand <- function(time, status, group, rho, gamma) {
  lev <- sort(unique(group))
  k <- length(lev)
  tt <- sort(unique(time[status == 1]))
  R <- matrix(sapply(lev, function(l) sapply(tt, function(s) sum(time >= s & group == l))), ncol = k)
  D <- matrix(sapply(lev, function(l) sapply(tt, function(s) sum(time == s & status == 1 & group == l))), ncol = k)
  r <- rowSums(R)
  d <- rowSums(D)
  S <- cumprod(1 - d / r)
  Sminus <- c(1, head(S, -1))
  w <- Sminus^rho * (1 - Sminus)^gamma
  O <- colSums(w * D)
  E <- colSums((w * d / r) * R)
  cc <- ifelse(r > 1, w^2 * d * (r - d) / (r * (r - 1)), 0)
  V <- diag(colSums(cc * R), k) - t(R * (cc / r)) %*% R
  use <- E > 0
  x <- (O - E)[use][-1]
  vv <- V[use, use, drop = FALSE][-1, -1, drop = FALSE]
  chisq <- sum(solve(vv, x) * x)
  df <- sum(use) - 1
  list(levels = as.character(lev), observed = O, expected = E, variance = unname(V),
       statistic = chisq, df = df, p = pchisq(chisq, df, lower.tail = FALSE))
}

# ---------------------------------------------------------------------------------------------
# Kaplan-Meier: lung overall and by sex, each conf.type at 0.95 and at 0.90
# ---------------------------------------------------------------------------------------------

km <- list()
for (ct in c("log", "log-log", "plain")) {
  for (cl in c(0.95, 0.90)) {
    extra <- sprintf("conf.type = '%s'%s", ct, if (cl == 0.95) "" else sprintf(", conf.int = %s", cl))
    f0 <- survfit(Surv(time, status) ~ 1, data = lung, conf.type = ct, conf.int = cl)
    km[[length(km) + 1]] <- km_entry(f0, sprintf("survfit(Surv(time, status) ~ 1, data = lung, %s)", extra),
                                     "lung", lung, NULL, ct, cl, steps = cl == 0.95)
    f1 <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = ct, conf.int = cl)
    km[[length(km) + 1]] <- km_entry(f1, sprintf("survfit(Surv(time, status) ~ sex, data = lung, %s)", extra),
                                     "lung", lung, "sex", ct, cl, steps = cl == 0.95)
  }
}

# gbsg2 by tumour grade (three curves), log-log.
fg <- survfit(Surv(time, cens) ~ tgrade, data = gbsg2, conf.type = "log-log")
km[[length(km) + 1]] <- km_entry(fg, "survfit(Surv(time, cens) ~ tgrade, data = gbsg2, conf.type = 'log-log')",
                                 "gbsg2", gbsg2, "tgrade", "log-log", 0.95, rmeans = c(365, 1825),
                                 times = c(365, 730, 1825), times_ext = c(365, 2500, 3000), steps = FALSE)

# ---------------------------------------------------------------------------------------------
# Case weights: integer weights (R's default Greenwood) and non-integer weights with robust = FALSE
# ---------------------------------------------------------------------------------------------

lung$wi <- (lung$age %% 3) + 1
lung$wf <- lung$age / 60
weighted <- list(
  km_entry(survfit(Surv(time, status) ~ 1, data = lung, weights = wi),
           "survfit(Surv(time, status) ~ 1, data = lung, weights = (age %% 3) + 1)",
           "lung", lung, NULL, "log", 0.95),
  km_entry(survfit(Surv(time, status) ~ 1, data = lung, weights = wf, robust = FALSE),
           "survfit(Surv(time, status) ~ 1, data = lung, weights = age / 60, robust = FALSE)",
           "lung", lung, NULL, "log", 0.95)
)
weighted[[1]]$weights <- "(age %% 3) + 1"
weighted[[2]]$weights <- "age / 60"

# ---------------------------------------------------------------------------------------------
# Reverse Kaplan-Meier: median follow-up
# ---------------------------------------------------------------------------------------------

reverse <- list()
for (grp in list(NULL, "sex")) {
  fml <- if (is.null(grp)) Surv(time, 1 - status) ~ 1 else Surv(time, 1 - status) ~ sex
  fr <- survfit(fml, data = lung)
  tab <- table_rows(summary(fr)$table)
  cs <- curves_of(fr)
  reverse[[length(reverse) + 1]] <- list(
    call = sprintf("survfit(Surv(time, 1 - status) ~ %s, data = lung)", if (is.null(grp)) "1" else grp),
    data = "lung", group = grp, conf_type = "log", conf_level = 0.95,
    groups = lapply(seq_along(cs), function(i) {
      q <- quantile(cs[[i]]$fit, probs = 0.5)
      list(level = level_value(lung, grp, cs[[i]]$label),
           median = unname(tab[i, "median"]), median_lower = unname(tab[i, "0.95LCL"]),
           median_upper = unname(tab[i, "0.95UCL"]),
           quantile = list(probs = 0.5, estimate = unname(q$quantile), lower = unname(q$lower),
                           upper = unname(q$upper)))
    }))
}

# ---------------------------------------------------------------------------------------------
# Edge cases: ties, medians exactly at S = 0.5, a flat last stretch, a group without events
# ---------------------------------------------------------------------------------------------

edge_all_events <- data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 1, 1))
edge_tied_pairs <- data.frame(time = c(1, 1, 2, 2, 3, 3, 4, 4), status = rep(1, 8))
edge_flat_end <- data.frame(time = c(1, 2, 5, 6), status = c(1, 1, 0, 0))
edge_groups <- data.frame(
  time = c(0.5, 2, 2, 2, 3, 3, 5, 8, 2, 4, 6),
  status = c(0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0),
  g = c(rep("A", 8), rep("B", 3))
)
edge_data <- list(all_events = edge_all_events, tied_pairs = edge_tied_pairs,
                  flat_end = edge_flat_end, groups = edge_groups)

edge <- list()
for (nm in c("all_events", "tied_pairs", "flat_end")) {
  for (ct in c("log", "log-log", "plain")) {
    d <- edge_data[[nm]]
    f <- survfit(Surv(time, status) ~ 1, data = d, conf.type = ct)
    e <- km_entry(f, sprintf("survfit(Surv(time, status) ~ 1, data = edge_%s, conf.type = '%s')", nm, ct),
                  nm, d, NULL, ct, 0.95, rmeans = c(3, 4), times = c(0.5, 2, 2.5, 4),
                  times_ext = c(0, 2, 4, 5))
    edge[[length(edge) + 1]] <- e
  }
}
for (ct in c("log", "log-log", "plain")) {
  f <- survfit(Surv(time, status) ~ g, data = edge_groups, conf.type = ct)
  edge[[length(edge) + 1]] <- km_entry(
    f, sprintf("survfit(Surv(time, status) ~ g, data = edge_groups, conf.type = '%s')", ct),
    "groups", edge_groups, "g", ct, 0.95, rmeans = c(3, 6), times = c(0.5, 2, 4, 6),
    times_ext = c(0.25, 2, 6, 9))
}

# ---------------------------------------------------------------------------------------------
# survdiff
# ---------------------------------------------------------------------------------------------

lung_ecog <- lung[!is.na(lung$ph.ecog), ]
sdiff <- list(
  survdiff_entry(survdiff(Surv(time, status) ~ sex, data = lung),
                 "survdiff(Surv(time, status) ~ sex, data = lung)", "lung", "sex", n_used = nrow(lung)),
  survdiff_entry(survdiff(Surv(time, status) ~ sex, data = lung, rho = 1),
                 "survdiff(Surv(time, status) ~ sex, data = lung, rho = 1)", "lung", "sex", rho = 1,
                 n_used = nrow(lung)),
  survdiff_entry(survdiff(Surv(time, status) ~ sex, data = lung, rho = 0.5),
                 "survdiff(Surv(time, status) ~ sex, data = lung, rho = 0.5)", "lung", "sex", rho = 0.5,
                 n_used = nrow(lung)),
  survdiff_entry(survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung),
                 "survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung)", "lung", "sex",
                 strata = "ph.ecog", n_used = nrow(lung_ecog)),
  survdiff_entry(survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, rho = 1),
                 "survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, rho = 1)", "lung",
                 "sex", strata = "ph.ecog", rho = 1, n_used = nrow(lung_ecog)),
  survdiff_entry(survdiff(Surv(time, cens) ~ tgrade, data = gbsg2),
                 "survdiff(Surv(time, cens) ~ tgrade, data = gbsg2)", "gbsg2", "tgrade",
                 n_used = nrow(gbsg2)),
  survdiff_entry(survdiff(Surv(time, cens) ~ tgrade, data = gbsg2, rho = 1),
                 "survdiff(Surv(time, cens) ~ tgrade, data = gbsg2, rho = 1)", "gbsg2", "tgrade",
                 rho = 1, n_used = nrow(gbsg2)),
  survdiff_entry(survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2),
                 "survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2)", "gbsg2", "tgrade",
                 strata = "horTh", n_used = nrow(gbsg2)),
  survdiff_entry(survdiff(Surv(time, status) ~ g, data = edge_groups),
                 "survdiff(Surv(time, status) ~ g, data = edge_groups)", "groups", "g",
                 n_used = nrow(edge_groups))
)
stopifnot(nrow(lung_ecog) == 227)

# Test for trend over tgrade with scores 1, 2, 3: (w'(O-E))^2 / (w'Vw) from survdiff's O, E, V.
trend_entry <- function(sd, call, strata) {
  w <- c(1, 2, 3)
  oe <- (if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs) - (if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp)
  stat <- sum(w * oe)^2 / drop(t(w) %*% sd$var %*% w)
  list(call = call, data = "gbsg2", group = "tgrade", strata = strata, levels = c("I", "II", "III"),
       scores = w, statistic = stat, df = 1, p = pchisq(stat, 1, lower.tail = FALSE))
}
trend <- list(
  trend_entry(survdiff(Surv(time, cens) ~ tgrade, data = gbsg2),
              "w <- c(1, 2, 3); sd <- survdiff(Surv(time, cens) ~ tgrade, data = gbsg2); (sum(w * (sd$obs - sd$exp)))^2 / (t(w) %*% sd$var %*% w)",
              NULL),
  trend_entry(survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2),
              "w <- c(1, 2, 3); sd <- survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2); (sum(w * rowSums(sd$obs - sd$exp)))^2 / (t(w) %*% sd$var %*% w)",
              "horTh")
)

# Pairwise log-rank over tgrade: survdiff on each pair's rows, then p.adjust.
pairwise <- list()
for (rho in c(0, 1)) {
  lev <- sort(unique(gbsg2$tgrade))
  pairs <- combn(lev, 2)
  raw <- apply(pairs, 2, function(ab) {
    sd <- survdiff(Surv(time, cens) ~ tgrade, data = gbsg2[gbsg2$tgrade %in% ab, ], rho = rho)
    c(sd$chisq, sd$pvalue)
  })
  for (adj in c("holm", "BH", "bonferroni", "none")) {
    pairwise[[length(pairwise) + 1]] <- list(
      call = sprintf("survdiff(Surv(time, cens) ~ tgrade, data = gbsg2[gbsg2$tgrade %%in%% c(a, b), ], rho = %s) for each pair; p.adjust(p, '%s')", rho, adj),
      data = "gbsg2", group = "tgrade", rho = rho, adjust = adj,
      level_a = pairs[1, ], level_b = pairs[2, ], statistic = raw[1, ], p_raw = raw[2, ],
      p_adjusted = p.adjust(raw[2, ], adj))
  }
}

# p.adjust on a vector with ties, for every method the Python side offers.
p_in <- c(0.01, 0.02, 0.03, 0.04, 0.05, 0.5, 0.02, 0.001)
padj <- list(call = "p.adjust(p, method)", p = p_in,
             adjusted = lapply(c(holm = "holm", BH = "BH", bonferroni = "bonferroni", none = "none"),
                               function(m) p.adjust(p_in, m)))

# Fleming-Harrington by hand; first its gamma = 0 values must equal survdiff's.
for (rho in c(0, 0.5, 1)) {
  h <- fh_by_hand(lung$time, lung$status, lung$sex, rho, 0)
  sd <- survdiff(Surv(time, status) ~ sex, data = lung, rho = rho)
  stopifnot(isTRUE(all.equal(h$statistic, sd$chisq, tolerance = 1e-12)),
            isTRUE(all.equal(unname(h$expected), unname(sd$exp), tolerance = 1e-12)))
  h <- fh_by_hand(gbsg2$time, gbsg2$cens, gbsg2$tgrade, rho, 0)
  sd <- survdiff(Surv(time, cens) ~ tgrade, data = gbsg2, rho = rho)
  stopifnot(isTRUE(all.equal(h$statistic, sd$chisq, tolerance = 1e-12)),
            isTRUE(all.equal(unname(h$variance), unname(sd$var), tolerance = 1e-12)))
}
fh <- list()
for (rg in list(c(0, 1), c(1, 1), c(0.5, 2))) {
  h <- fh_by_hand(lung$time, lung$status, lung$sex, rg[1], rg[2])
  fh[[length(fh) + 1]] <- c(list(
    call = sprintf("fh_by_hand(lung$time, lung$status, lung$sex, rho = %s, gamma = %s)", rg[1], rg[2]),
    data = "lung", group = "sex", rho = rg[1], gamma = rg[2]), h)
  h <- fh_by_hand(gbsg2$time, gbsg2$cens, gbsg2$tgrade, rg[1], rg[2])
  fh[[length(fh) + 1]] <- c(list(
    call = sprintf("fh_by_hand(gbsg2$time, gbsg2$cens, gbsg2$tgrade, rho = %s, gamma = %s)", rg[1], rg[2]),
    data = "gbsg2", group = "tgrade", rho = rg[1], gamma = rg[2]), h)
}

# ---------------------------------------------------------------------------------------------
# Write
# ---------------------------------------------------------------------------------------------

fixture <- list(
  meta = list(
    script = "tests/stats/r/km_tests.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    datasets = "lung.csv and gbsg2.csv written by tests/stats/r/export_datasets.py (lifelines' copies)",
    missing_values = "R's NA, NaN and Inf are written as the strings 'NA', 'NaN' and 'Inf'",
    notes = c(
      "median/median_lower/median_upper are summary(fit)$table (print.survfit's table, survival:::survmean); quantile is quantile(fit, probs)",
      "summary is summary(fit, times = ...); summary_extend is summary(fit, times = ..., extend = TRUE); std_err there is R's summary std.err (SE of S)",
      "rmean is summary(fit, rmean = tau)$table[, c('rmean', 'se(rmean)')]",
      "steps is the full step table of the curve: time, n.risk, n.event, n.censor, surv, std.err (SE of log S), lower, upper",
      "the stratified lung tests drop the row with missing ph.ecog: 227 of 228 rows used",
      "fh entries are computed in this script by fh_by_hand() from the definition of G(rho, gamma) (pooled KM at t-), because survdiff has no gamma; the script checks that fh_by_hand() equals survdiff for gamma = 0 and rho = 0, 0.5, 1 on lung and gbsg2 before keeping them",
      "trend entries are computed from survdiff's obs, exp and var; pairwise entries from survdiff on each pair's rows and p.adjust",
      "edge data sets: all_events = time 1:4 all events; tied_pairs = time c(1,1,2,2,3,3,4,4) all events; flat_end = time c(1,2,5,6), status c(1,1,0,0); groups = group A time c(0.5,2,2,2,3,3,5,8) status c(0,1,1,1,0,1,1,0) and group B time c(2,4,6) all censored"
    )
  ),
  edge_data = edge_data,
  km = km,
  weighted = weighted,
  reverse = reverse,
  edge = edge,
  survdiff = sdiff,
  trend = trend,
  pairwise = pairwise,
  p_adjust = padj,
  fh = fh
)

writeLines(toJSON(fixture, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string",
                  dataframe = "columns", null = "null"), outfile)
cat("wrote", outfile, "\n")
