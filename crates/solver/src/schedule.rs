//! Running a DAG of jobs on a bounded pool of threads.
//!
//! Jobs are indices `0..n`; `deps[i]` lists the jobs that must finish before
//! job `i` starts. A job runs as soon as its dependencies are done and a
//! thread is free, so independent stages of a Dockerfile build at the same
//! time. After the first failure no new job starts; jobs already running are
//! left to finish (the engine cancels them through its own flag), and the
//! first error is returned.

use std::sync::{Condvar, Mutex};

/// A malformed graph, or the first job failure.
#[derive(Debug, thiserror::Error)]
pub enum GraphError<E> {
    #[error("job {job} depends on job {dependency}, which does not exist")]
    UnknownDependency { job: usize, dependency: usize },
    #[error("the jobs {0:?} depend on each other in a cycle")]
    Cycle(Vec<usize>),
    #[error(transparent)]
    Job(E),
}

struct State<T, E> {
    done: Vec<Option<T>>,
    started: Vec<bool>,
    running: usize,
    failure: Option<E>,
}

/// Runs `job(i, results_of_deps)` for every job, at most `jobs` at a time,
/// and returns the results in job order.
pub fn run_graph<T, E, F>(deps: &[Vec<usize>], jobs: usize, job: F) -> Result<Vec<T>, GraphError<E>>
where
    T: Clone + Send + Sync,
    E: Send,
    F: Fn(usize, &[(usize, T)]) -> Result<T, E> + Sync,
{
    let count = deps.len();
    for (i, d) in deps.iter().enumerate() {
        if let Some(&bad) = d.iter().find(|&&d| d >= count) {
            return Err(GraphError::UnknownDependency {
                job: i,
                dependency: bad,
            });
        }
    }
    check_acyclic(deps)?;
    let state = Mutex::new(State::<T, E> {
        done: (0..count).map(|_| None).collect(),
        started: vec![false; count],
        running: 0,
        failure: None,
    });
    let wake = Condvar::new();
    let workers = jobs.max(1).min(count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| worker(deps, &state, &wake, &job));
        }
    });
    let state = state
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(failure) = state.failure {
        return Err(GraphError::Job(failure));
    }
    // Every job ran: the graph is acyclic and no failure stopped the workers.
    Ok(state.done.into_iter().flatten().collect())
}

fn worker<T, E, F>(deps: &[Vec<usize>], state: &Mutex<State<T, E>>, wake: &Condvar, job: &F)
where
    T: Clone,
    F: Fn(usize, &[(usize, T)]) -> Result<T, E>,
{
    fn lock<S>(m: &Mutex<S>) -> std::sync::MutexGuard<'_, S> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }
    let mut guard = lock(state);
    loop {
        if guard.failure.is_some() {
            wake.notify_all();
            return;
        }
        let ready = (0..deps.len())
            .find(|&i| !guard.started[i] && deps[i].iter().all(|&d| guard.done[d].is_some()));
        match ready {
            Some(i) => {
                guard.started[i] = true;
                guard.running += 1;
                let inputs: Vec<(usize, T)> = deps[i]
                    .iter()
                    .filter_map(|&d| guard.done[d].clone().map(|r| (d, r)))
                    .collect();
                drop(guard);
                let result = job(i, &inputs);
                guard = lock(state);
                guard.running -= 1;
                match result {
                    Ok(value) => guard.done[i] = Some(value),
                    Err(error) => {
                        if guard.failure.is_none() {
                            guard.failure = Some(error);
                        }
                    }
                }
                wake.notify_all();
            }
            None => {
                if guard.started.iter().all(|&s| s) || guard.running == 0 {
                    // Nothing left to start, or nothing running that could
                    // unblock a waiting job.
                    wake.notify_all();
                    return;
                }
                guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

fn check_acyclic<E>(deps: &[Vec<usize>]) -> Result<(), GraphError<E>> {
    // Kahn's algorithm: whatever cannot be ordered is on or behind a cycle.
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ordered = vec![false; deps.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for i in 0..deps.len() {
            if !ordered[i] && remaining[i] == 0 {
                ordered[i] = true;
                progress = true;
                for (j, d) in deps.iter().enumerate() {
                    remaining[j] -= d.iter().filter(|&&x| x == i).count();
                }
            }
        }
    }
    let stuck: Vec<usize> = (0..deps.len()).filter(|&i| !ordered[i]).collect();
    if stuck.is_empty() {
        Ok(())
    } else {
        Err(GraphError::Cycle(stuck))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// (dependencies, expected order constraints hold, expected result)
    #[test]
    fn runs_in_dependency_order() {
        let graphs: &[&[&[usize]]] =
            &[&[], &[&[]], &[&[], &[0], &[0], &[1, 2]], &[&[1], &[2], &[]]];
        for graph in graphs {
            let deps: Vec<Vec<usize>> = graph.iter().map(|d| d.to_vec()).collect();
            for jobs in [1, 2, 4] {
                let clock = AtomicUsize::new(0);
                let result = run_graph::<usize, (), _>(&deps, jobs, |i, inputs| {
                    assert_eq!(inputs.len(), deps[i].len());
                    for (_, finished_at) in inputs {
                        assert!(*finished_at <= clock.load(Ordering::SeqCst));
                    }
                    Ok(clock.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .unwrap();
                assert_eq!(result.len(), deps.len());
            }
        }
    }

    #[test]
    fn independent_jobs_overlap() {
        let deps = vec![vec![], vec![]];
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        run_graph::<(), (), _>(&deps, 2, |_, _| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn first_failure_stops_dependents() {
        let deps = vec![vec![], vec![0]];
        let ran = AtomicUsize::new(0);
        let result = run_graph::<(), &str, _>(&deps, 2, |i, _| {
            ran.fetch_add(1, Ordering::SeqCst);
            if i == 0 { Err("boom") } else { Ok(()) }
        });
        assert!(matches!(result, Err(GraphError::Job("boom"))));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn rejects_cycles_and_unknown_dependencies() {
        let cycle = vec![vec![1], vec![0], vec![]];
        assert!(
            matches!(run_graph::<(), (), _>(&cycle, 1, |_, _| Ok(())), Err(GraphError::Cycle(c)) if c == vec![0, 1])
        );
        let unknown = vec![vec![5]];
        assert!(matches!(
            run_graph::<(), (), _>(&unknown, 1, |_, _| Ok(())),
            Err(GraphError::UnknownDependency {
                job: 0,
                dependency: 5
            })
        ));
    }
}
