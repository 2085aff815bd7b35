import cProfile, pstats, random, sys, time
from datetime import UTC, datetime, timedelta
import bench.rules_perf as rp
from rules.runner import RulesRunner
from cityhall.timeseries.influx import InfluxStore
from cityhall.db import make_engine, make_sessionmaker
from cityhall.migrate import upgrade
from cityhall.settings import Settings
from tests import servers
rng = random.Random(1)
N = int(sys.argv[1])
with servers.InfluxServer() as influx, rp.fresh_database() as url:
    influx.create_database("bench")
    engine = make_engine(url); upgrade(engine); factory = make_sessionmaker(engine)
    codes = rp.build_register(factory, N)
    store = InfluxStore.from_settings(Settings(influx_url=influx.url, influx_database="bench", database_url=url))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for k in range(36, 0, -1):
        store.write_lines(rp.lines_at(codes, now - rp.STEP * k, rng))
    runner = RulesRunner(book=rp.ten_rules(), store=store, session_factory=factory, lookback=timedelta(minutes=30), interval_s=30)
    runner.run_once(now)
    clock = now + timedelta(seconds=30)
    store.write_lines(rp.lines_at(codes[: N // 10], clock, rng))
    pr = cProfile.Profile(); pr.enable(); t=time.perf_counter(); r = runner.run_once(clock); print("t", time.perf_counter()-t); pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)
