# fit.awk fits revenue = intercept + slope * ad_spend by least squares for
# one group of sales.csv (CSV with its header on standard input) and prints
# one CSV row, header first. mp groupby runs it once per store:
#
#   go run ./cmd/mp groupby -k -bar -header-once -by store \
#       examples/groupby-regression/sales.csv -- awk -v store={key} -f examples/mp-command/fit.awk
BEGIN { FS = "," }
NR == 1 { next }
{
	n++; x = $2; y = $3
	sx += x; sy += y; sxx += x * x; sxy += x * y; syy += y * y
}
END {
	dx = n * sxx - sx * sx; dy = n * syy - sy * sy
	slope = (n * sxy - sx * sy) / dx
	intercept = (sy - slope * sx) / n
	r = (n * sxy - sx * sy) / sqrt(dx * dy)
	print "store,rows,intercept,slope,r2"
	printf "%s,%d,%.3f,%.4f,%.4f\n", store, n, intercept, slope, r * r
}
