# Request rate against concurrency, from the data file report.py writes:
#   gnuplot -e "datafile='chart.dat'; outfile='rate-vs-concurrency.png'" chart.gp
# The file's first line is "# j CLIENT...", one column per client.
set terminal pngcairo size 900,560 font ",11" noenhanced
set output outfile
set title "Request rate against concurrency: 1 KiB files, HTTP/1.1 keep-alive, loopback nginx"
set xlabel "concurrency (-j; wrk: connections)"
set ylabel "requests per second"
set logscale xy
set xrange [0.8:300]
set xtics ("1" 1, "10" 10, "50" 50, "200" 200)
set format y "%.0f"
set grid xtics ytics mytics
set key outside right top
set datafile missing "NaN"
header = system("head -n 1 '" . datafile . "'")
ncol = words(header) - 1
plot for [i=2:ncol] datafile using 1:i with linespoints lw 2 pt 7 ps 1.2 title word(header, i + 1)
