-- wrk: GET /api/v1/customers/{FIDELIS_BENCH_CUSTOMER}/timeline?limit=50 (the newest page).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FIDELIS_BENCH_KEY")
wrk.path = "/api/v1/customers/" .. os.getenv("FIDELIS_BENCH_CUSTOMER") .. "/timeline?limit=50"
