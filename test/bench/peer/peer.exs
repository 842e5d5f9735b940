# peer.exs: chanstate's mechanism on Erlang/OTP, measured the way
# chanstate-bench measures chanstate. One channel = one GenServer holding the
# client's assigns; terminate/2 saves them to a public named ETS :set table
# keyed {topic, client_id} on any abnormal exit and deletes them on a normal
# one; init/1 restores them. No Phoenix, no mix: OTP and Elixir's stdlib.
#
#   elixir test/bench/peer/peer.exs SCENARIO [--flag=value ...]
#
# Scenarios and flags mirror chanstate-bench (same names, same defaults):
#   steady  --channels=1000 --events=1000 --every=10
#   recover --channels=10000 --payload=list100|bin1k
#   kill    --channels=10000 --payload=list100|bin1k
#   memory  --backups=100000 --payload=list100|bin1k
#   scale   --channels=1000000 --transports=64
# Prints exactly one JSON object on one line on stdout.

defmodule Peer.Json do
  # Flat objects only: that is all the scenarios print.
  def encode(pairs), do: "{" <> Enum.map_join(pairs, ",", fn {k, v} -> ~s("#{k}":) <> value(v) end) <> "}"
  defp value(v) when is_boolean(v), do: to_string(v)
  defp value(v) when is_integer(v), do: Integer.to_string(v)
  defp value(v) when is_float(v), do: :erlang.float_to_binary(v, [:compact, decimals: 3])
  defp value(v), do: ~s(") <> to_string(v) <> ~s(")
end

defmodule Peer.Channel do
  use GenServer
  @tab :peer_backups

  def table, do: :ets.new(@tab, [:set, :public, :named_table])

  # The transport (the client process) starts its channel, as Phoenix's
  # socket does; not linked, not supervised.
  def join(topic, client_id, transport \\ self()),
    do: GenServer.start(__MODULE__, {topic, client_id, transport})

  @impl true
  def init({topic, client_id, transport}) do
    # Like Phoenix.Channel.Server: trap exits, monitor the transport.
    Process.flag(:trap_exit, true)
    Process.monitor(transport)
    key = {topic, client_id}

    assigns =
      case :ets.lookup(@tab, key) do
        [{^key, saved}] -> saved
        [] -> %{items: nil}
      end

    {:ok, %{key: key, transport: transport, assigns: assigns}}
  end

  # Client events arrive as plain messages, as from Phoenix's transport; a
  # reply goes out only when the event carries a ref.
  @impl true
  def handle_info({:in, event, payload, ref}, s) do
    case event do
      :add ->
        items = [payload | s.assigns.items || []]
        {:noreply, put_in(s.assigns.items, items)}

      :put ->
        reply(s, ref, :ok)
        {:noreply, put_in(s.assigns.items, payload)}

      :get ->
        reply(s, ref, {:ok, s.assigns.items})
        {:noreply, s}

      :crash ->
        raise "crash on purpose"

      :leave ->
        reply(s, ref, :ok)
        {:stop, {:shutdown, :left}, s}
    end
  end

  def handle_info({:DOWN, _, :process, pid, _}, %{transport: pid} = s),
    do: {:stop, {:shutdown, :closed}, s}

  def handle_info({:EXIT, _, reason}, s), do: {:stop, reason, s}

  defp reply(_s, nil, _), do: :ok
  defp reply(s, ref, r), do: send(s.transport, {:reply, self(), ref, r})

  # The exit matrix's rule: a clean end drops the backup, anything else keeps
  # it. A :kill never gets here.
  @impl true
  def terminate(reason, s) do
    case reason do
      :normal -> :ets.delete(@tab, s.key)
      {:shutdown, _} -> :ets.delete(@tab, s.key)
      _ -> :ets.insert(@tab, {s.key, s.assigns})
    end
  end
end

defmodule Peer do
  alias Peer.Channel

  def now_us, do: System.monotonic_time(:microsecond)

  # Nearest rank, as chanstate-bench computes it.
  def percentile([], _), do: 0
  def percentile(sorted, p) do
    n = length(sorted)
    Enum.at(sorted, max(min(ceil(p / 100 * n) - 1, n - 1), 0))
  end

  def payload("list100", i), do: Enum.to_list(i..(i + 99))
  def payload("bin1k", i) do
    word = :io_lib.format("~8.16.0b", [rem(i, 0x100000000)]) |> IO.iodata_to_binary()
    :binary.copy(word, 128)
  end
  def payload(other, _), do: raise("--payload must be list100 or bin1k, got #{other}")

  def await_reply(ch, ref) do
    receive do
      {:reply, ^ch, ^ref, r} -> r
    end
  end

  def peak_rss_mb do
    File.read!("/proc/self/status")
    |> String.split("\n")
    |> Enum.find_value(0, fn l ->
      case String.split(l) do
        ["VmHWM:", kb, "kB"] -> String.to_integer(kb) / 1024
        _ -> nil
      end
    end)
  end

  # --------------------------------------------------------------- steady --
  def steady(opts) do
    n = opts.num.("channels", 1000)
    m = opts.num.("events", 1000)
    k = max(opts.num.("every", 10), 1)
    steady_once(min(n, 100), min(m, 100), k, "w")
    {eps, jps, bad} = steady_once(n, m, k, "m")
    [scenario: "steady", channels: n, events: m, get_every: k,
     events_per_s: round(eps), joins_per_s: round(jps), errors: bad]
  end

  defp steady_once(n, m, k, tag) do
    parent = self()
    tj0 = now_us()
    clients =
      for i <- 1..n do
        spawn_link(fn ->
          {:ok, ch} = Channel.join("room:#{tag}:#{i}", "c#{i}")
          send(parent, {:ready, self()})
          receive do: (:go -> :ok)
          ok = steady_events(ch, 0, m, k)
          send(parent, {:done, now_us(), ok})
          send(ch, {:in, :leave, nil, :l})
          await_reply(ch, :l)
        end)
      end
    for _ <- clients, do: receive(do: ({:ready, _} -> :ok))
    tj1 = now_us()
    t0 = now_us()
    Enum.each(clients, &send(&1, :go))
    {t1, bad} =
      Enum.reduce(clients, {t0, 0}, fn _, {t, b} ->
        receive do
          {:done, at, ok} -> {max(t, at), if(ok, do: b, else: b + 1)}
        end
      end)
    {n * m * 1.0e6 / max(t1 - t0, 1), n * 1.0e6 / max(tj1 - tj0, 1), bad}
  end

  # K adds, then a get the client waits for, as chanstate-bench does; the
  # last get's list must be exactly 1..M.
  defp steady_events(ch, sent, m, _k) when sent >= m do
    send(ch, {:in, :get, nil, :last})
    {:ok, items} = await_reply(ch, :last)
    Enum.reverse(items) == Enum.to_list(1..m)
  end

  defp steady_events(ch, sent, m, k) do
    batch = min(k, m - sent)
    for j <- 1..batch, do: send(ch, {:in, :add, sent + j, nil})
    if sent + batch >= m do
      steady_events(ch, sent + batch, m, k)
    else
      send(ch, {:in, :get, nil, :g})
      {:ok, _} = await_reply(ch, :g)
      steady_events(ch, sent + batch, m, k)
    end
  end

  # ------------------------------------------------------ recover / kill --
  def recovery(opts, how) do
    n = opts.num.("channels", 10_000)
    kind = opts.str.("payload", "list100")
    payload(kind, 0)
    recovery_once(min(div(n, 10) + 1, 1000), kind, how, "w")
    r = recovery_once(n, kind, how, "m")
    [scenario: if(how == :crash, do: "recover", else: "kill"), channels: n,
     payload: kind] ++ r
  end

  defp recovery_once(n, kind, how, tag) do
    parent = self()
    clients =
      for i <- 1..n do
        spawn(fn -> recovery_client(parent, "bench:#{tag}:#{i}", "c#{i}", payload(kind, i)) end)
      end
    chans = for _ <- clients, do: receive(do: ({:armed, ch} -> ch))
    t0 = now_us()
    case how do
      :crash -> Enum.each(chans, &send(&1, {:in, :crash, nil, nil}))
      :kill -> Enum.each(chans, &Process.exit(&1, :kill))
    end
    Enum.each(clients, &send(&1, {:t0, t0}))
    results = for _ <- clients, do: receive(do: ({:done, r} -> r))
    Enum.each(clients, &send(&1, :leave))
    for _ <- clients, do: receive(do: (:gone -> :ok))
    totals = results |> Enum.map(&elem(&1, 1)) |> Enum.sort()
    count = fn what -> Enum.count(results, &(elem(&1, 0) == what)) end
    max_us = List.last(totals)
    [recoveries_per_s: round(n * 1.0e6 / max(max_us, 1)),
     p50_ms: percentile(totals, 50) / 1000, p99_ms: percentile(totals, 99) / 1000,
     max_ms: max_us / 1000, restored_ok: count.(:ok), lost: count.(:lost),
     stale: count.(:stale), other: count.(:other),
     leftover_backups: :ets.info(:peer_backups, :size)]
  end

  defp recovery_client(parent, topic, cid, expected) do
    {:ok, ch} = Channel.join(topic, cid)
    mon = Process.monitor(ch)
    send(ch, {:in, :put, expected, :p})
    :ok = await_reply(ch, :p)
    send(parent, {:armed, ch})
    receive do: ({:DOWN, ^mon, :process, _, _} -> :ok)
    # The rejoin and its get go out at once, as in chanstate-bench.
    {:ok, ch2} = Channel.join(topic, cid)
    send(ch2, {:in, :get, nil, :g})
    {:ok, items} = await_reply(ch2, :g)
    done = now_us()
    t0 = receive do: ({:t0, t} -> t)
    result =
      cond do
        items == expected -> :ok
        items == nil -> :lost
        true -> :stale
      end
    send(parent, {:done, {result, done - t0}})
    receive do: (:leave -> :ok)
    send(ch2, {:in, :leave, nil, :l})
    await_reply(ch2, :l)
    send(parent, :gone)
  end

  # --------------------------------------------------------------- memory --
  def memory(opts) do
    n = opts.num.("backups", 100_000)
    kind = opts.str.("payload", "list100")
    payload(kind, 0)
    parent = self()
    # Idle channels as chanstate-bench counts them: freshly joined, empty.
    idle = for i <- 1..min(n, 1000), do: elem(Channel.join("room:idle:#{i}", "c#{i}"), 1)
    proc = Enum.sum(for c <- idle, do: elem(Process.info(c, :memory), 1)) / length(idle)
    Enum.each(idle, &GenServer.stop/1)
    ets0 = :ets.info(:peer_backups, :memory)
    bin0 = :erlang.memory(:binary)
    # Each client holds its channel until told to crash it, then leaves
    # nothing but the backup behind.
    clients =
      for i <- 1..n do
        spawn(fn ->
          {:ok, ch} = Channel.join("bench:mem:#{i}", "c#{i}")
          mon = Process.monitor(ch)
          send(ch, {:in, :put, payload(kind, i), :p})
          :ok = await_reply(ch, :p)
          send(parent, {:armed, ch})
          receive do: ({:DOWN, ^mon, _, _, _} -> send(parent, :crashed))
        end)
      end
    chans = for _ <- clients, do: receive(do: ({:armed, ch} -> ch))
    t0 = now_us()
    Enum.each(chans, &send(&1, {:in, :crash, nil, nil}))
    for _ <- clients, do: receive(do: (:crashed -> :ok))
    crash_all_us = now_us() - t0
    :erlang.garbage_collect()
    words = :erlang.system_info(:wordsize)
    ets = (:ets.info(:peer_backups, :memory) - ets0) * words / n
    bin = (:erlang.memory(:binary) - bin0) / n
    [scenario: "memory", backups: :ets.info(:peer_backups, :size), payload: kind,
     ets_bytes_per_backup: round(ets), offheap_bytes_per_backup: round(bin),
     bytes_per_backup: round(ets + bin), bytes_per_channel: round(proc),
     crash_all_ms: crash_all_us / 1000]
  end

  # ---------------------------------------------------------------- scale --
  # A few transports play the clients of every K-th channel, as in
  # chanstate-bench scale: join, put, see the crash, rejoin, check.
  def scale(opts) do
    n = opts.num.("channels", 1_000_000)
    k = min(max(opts.num.("transports", 64), 1), n)
    parent = self()
    tj0 = now_us()
    transports =
      for j <- 0..(k - 1) do
        spawn(fn -> scale_transport(parent, Enum.take_every(j..(n - 1)//1, k)) end)
      end
    chans = Enum.flat_map(transports, fn _ -> receive(do: ({:armed, cs} -> cs)) end)
    join_us = now_us() - tj0
    t0 = now_us()
    Enum.each(chans, &send(&1, {:in, :crash, nil, nil}))
    Enum.each(transports, &send(&1, {:t0, t0}))
    res = Enum.map(transports, fn _ -> receive(do: ({:done, r} -> r)) end)
    restore_us = Enum.max(Enum.map(res, & &1.last)) - t0
    lat = res |> Enum.flat_map(& &1.lat) |> Enum.sort()
    [scenario: "scale", channels: n, transports: k,
     restored_ok: Enum.sum(Enum.map(res, & &1.ok)),
     lost: Enum.sum(Enum.map(res, & &1.lost)),
     stale: Enum.sum(Enum.map(res, & &1.stale)),
     join_s: join_us / 1.0e6, restore_all_s: restore_us / 1.0e6,
     restore_p50_ms: percentile(lat, 50) / 1000, restore_p99_ms: percentile(lat, 99) / 1000,
     peak_rss_mb: peak_rss_mb()]
  end

  defp scale_transport(parent, indices) do
    # ref tag = index; the monitor ref maps back to the index on DOWN.
    mons =
      Map.new(indices, fn i ->
        {:ok, ch} = Channel.join("bench:s:#{i}", "c#{i}")
        send(ch, {:in, :put, i, i})
        {Process.monitor(ch), {i, ch}}
      end)
    for _ <- indices, do: receive(do: ({:reply, _, _, :ok} -> :ok))
    send(parent, {:armed, Enum.map(mons, fn {_, {_, ch}} -> ch end)})
    t0 = receive do: ({:t0, t} -> t)
    acc = scale_loop(mons, length(indices), %{ok: 0, lost: 0, stale: 0, lat: [], last: t0}, t0)
    send(parent, {:done, acc})
  end

  defp scale_loop(_mons, 0, acc, _t0), do: acc

  defp scale_loop(mons, left, acc, t0) do
    receive do
      {:DOWN, mon, :process, _, _} ->
        {{i, _}, mons} = Map.pop(mons, mon)
        {:ok, ch} = Channel.join("bench:s:#{i}", "c#{i}")
        send(ch, {:in, :get, nil, i})
        scale_loop(mons, left, acc, t0)

      {:reply, _ch, i, {:ok, items}} ->
        t = now_us()
        what = cond do
          items == i -> :ok
          items == nil -> :lost
          true -> :stale
        end
        acc = %{acc | what => acc[what] + 1, lat: [t - t0 | acc.lat], last: max(acc.last, t)}
        scale_loop(mons, left - 1, acc, t0)
    end
  end

  # ----------------------------------------------------------------- main --
  def main(argv) do
    {scenario, flags} =
      case argv do
        [s | rest] -> {s, rest}
        [] -> raise "usage: elixir peer.exs steady|recover|kill|memory|scale [--flag=value ...]"
      end
    kv =
      Map.new(flags, fn f ->
        case Regex.run(~r/^--([a-z-]+)=(.*)$/, f) do
          [_, k, v] -> {k, v}
          _ -> raise "bad flag #{f} (flags are --name=value)"
        end
      end)
    opts = %{
      num: fn k, d -> kv |> Map.get(k, to_string(d)) |> String.to_integer() end,
      str: fn k, d -> Map.get(kv, k, d) end
    }
    # Crash reports off, as in a release with logging off: the figure is the
    # mechanism's, not the logger's.
    :logger.set_primary_config(:level, :none)
    Process.flag(:priority, :high)
    Channel.table()
    out =
      case scenario do
        "steady" -> steady(opts)
        "recover" -> recovery(opts, :crash)
        "kill" -> recovery(opts, :kill)
        "memory" -> memory(opts)
        "scale" -> scale(opts)
        other -> raise "unknown scenario #{other}"
      end
    env = [otp: System.otp_release(), elixir: System.version(),
           schedulers: System.schedulers_online()]
    IO.puts(Peer.Json.encode(out ++ env))
  end
end

Peer.main(System.argv())
