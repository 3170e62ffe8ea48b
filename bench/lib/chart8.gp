# Workload 8: request rate and median latency against -j, -j auto marked,
# from the data files report8.py writes:
#   gnuplot -e "prefix='chart8'; outfile='workload8.png'" chart8.gp
# PREFIX.dat: "j rate_a rate_b rate_c lat_a lat_b lat_c" (NaN: missing);
# PREFIX-auto.dat: "index inflight_p50 rate lat_p50 case", one line per
# case, -j auto placed at the concurrency the server saw it settle at.
set terminal pngcairo size 1200,520 font ",11" noenhanced
set output outfile
datafile = prefix . ".dat"
autofile = prefix . "-auto.dat"
set datafile missing "NaN"
set logscale xy
set xrange [0.8:1300]
set xtics ("1" 1, "4" 4, "16" 16, "50" 50, "200" 200, "1000" 1000)
set grid xtics ytics mytics
set multiplot layout 1,2 title "-j auto against fixed -j on loopback (a: 100 ms answers; b: 16 workers x 10 ms; c: 503 past 32 in flight)"
set xlabel "concurrency (-j; -j auto: median in flight at the server)"
set ylabel "URLs answered 200 per second"
set format y "%.0f"
set title "Rate"
set key bottom right
plot datafile using 1:2 with linespoints lw 2 pt 7 lc 1 title "a, fixed -j", \
     datafile using 1:3 with linespoints lw 2 pt 7 lc 2 title "b, fixed -j", \
     datafile using 1:4 with linespoints lw 2 pt 7 lc 3 title "c, fixed -j", \
     autofile using 2:3:($1 + 1) with points pt 5 ps 2.5 lc variable title "-j auto (a, b, c), at its median in flight"
set ylabel "median latency, ms"
set format y "%g"
set title "Median latency"
set key top left
plot datafile using 1:5 with linespoints lw 2 pt 7 lc 1 title "a, fixed -j", \
     datafile using 1:6 with linespoints lw 2 pt 7 lc 2 title "b, fixed -j", \
     datafile using 1:7 with linespoints lw 2 pt 7 lc 3 title "c, fixed -j", \
     autofile using 2:4:($1 + 1) with points pt 5 ps 2.5 lc variable title "-j auto (a, b, c), at its median in flight"
unset multiplot
